"""make demo: obsgen's output running for real on loopback until Ctrl-C."""
from __future__ import annotations

import time
from pathlib import Path

from demo.stack import Stack
from obsgen.spec.load import load_project

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    stack = Stack(load_project(ROOT), ROOT / "output")
    stack.start()
    print(f"""
pup.ai demo is running (time runs 60x faster in the rules: a 1h window is 1m, `for: 5m` is 5s).
  demo service   {stack.demo_url}/metrics
  Prometheus     {stack.prom_url}/alerts
  Alertmanager   {stack.am_url}
  webhook sink   {stack.sink.url}/<receiver>   (notifications are printed below)
  files          {stack.workdir}

Inject a fault:
  curl -XPOST {stack.demo_url}/fault -d '{{"service": "pup-api", "error_ratio": 1}}'
  curl -XPOST {stack.demo_url}/fault -d '{{"queue": "jobs", "depth": 20000}}'
  curl -XPOST {stack.demo_url}/fault -d '{{"pool_in_use": 39}}'
  curl -XPOST {stack.demo_url}/reset

Check the specs against it, and write the attainment report (open slo-report/index.html):
  .venv/bin/python -m obsgen check --prometheus {stack.prom_url}
  .venv/bin/python -m obsgen report --prometheus {stack.prom_url} --site slo-report
Ctrl-C stops everything.
""", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(1)
            alerts = stack.sink.alerts()
            for receiver, status, alert in alerts[seen:]:
                labels = alert["labels"]
                print(f"{receiver:22} {status:9} {labels.get('alertname')} {labels.get('service', '')} "
                      f"{labels.get('slo', labels.get('queue', labels.get('resource', '')))} {labels.get('severity', '')}", flush=True)
            seen = len(alerts)
    except KeyboardInterrupt:
        print("\nstopping...")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
