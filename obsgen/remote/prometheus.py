"""A running Prometheus, read through its HTTP query API: instant and range queries, nothing written.

`obsgen check` and `obsgen report` read the SLIs' series through it. Authentication, TLS, retries
and safe errors are the shared client's (remote/http.py): a bearer token from $PROMETHEUS_TOKEN_FILE
or --token-file, basic auth from user:password@ in the URL, a custom CA.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from obsgen.errors import RemoteError
from obsgen.remote.http import ApiClient, Endpoint

Labels = dict[str, str]


@dataclass(frozen=True)
class Sample:
    labels: Labels
    value: float


@dataclass(frozen=True)
class Series:
    labels: Labels
    points: tuple[tuple[float, float], ...]  # (unix seconds, value)


class Prometheus(ApiClient):
    name = "Prometheus"
    hints: ClassVar[dict[int, str]] = {
        401: "Prometheus wants credentials: a bearer token (--token-file, $PROMETHEUS_TOKEN_FILE) or user:password@ in the URL",
        403: "the credentials may not query this Prometheus",
        404: "not found: check the URL and its path prefix (e.g. /prometheus behind a proxy)",
        422: "Prometheus could not evaluate the query",
    }

    def version(self) -> str:
        """The server's version; a URL that does not serve Prometheus's API fails here, before any check."""
        response = self._call("GET", "/api/v1/status/buildinfo", ok=(200, 404))
        if response.status_code == 404:
            raise RemoteError(f"{self.config.url} does not serve Prometheus's API (/api/v1/status/buildinfo: 404); check the URL")
        return str(self._data("/api/v1/status/buildinfo", response.json()).get("version", "?"))

    def flags(self) -> dict[str, str]:
        """The server's command-line flags (retention among them); {} where the API has none (Thanos, Cortex)."""
        response = self._call("GET", "/api/v1/status/flags", ok=(200, 404))
        if response.status_code == 404:
            return {}
        data = self._data("/api/v1/status/flags", response.json())
        return {str(k): str(v) for k, v in data.items()}

    def query(self, expr: str, at: float) -> list[Sample]:
        """An instant vector at `at`; a scalar answer is one sample without labels."""
        data = self._post("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        if data.get("resultType") == "scalar":
            return [Sample({}, _number(data["result"][1]))]
        return [Sample(r.get("metric", {}), _number(r["value"][1])) for r in data.get("result", [])]

    def query_range(self, expr: str, start: float, end: float, step: int) -> list[Series]:
        data = self._post("/api/v1/query_range", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)})
        return [Series(r.get("metric", {}), tuple((float(t), _number(v)) for t, v in r.get("values", []))) for r in data.get("result", [])]

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        # POST: SLI expressions can be longer than a URL may be.
        response = self._call("POST", path, ok=(200, 400, 422), data=form)
        try:
            body = response.json()
        except ValueError:
            raise self.refuse("POST", path, response) from None
        return self._data(path, body)

    def _data(self, path: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", "no data") if isinstance(body, dict) else "not JSON"
            raise RemoteError(self.scrub(f"{path}: Prometheus answered: {error}"))
        data = body.get("data")
        return data if isinstance(data, dict) else {}


def _number(text: str) -> float:
    value = float(text)
    return value if not math.isinf(value) else math.nan


def prometheus_from_env(
    url: str | None, token_file: str | None = None, ca_file: str | None = None, insecure: bool = False, timeout: float | None = None,
) -> Prometheus:
    """--prometheus or $PROMETHEUS_URL, with $PROMETHEUS_TOKEN(_FILE), $PROMETHEUS_CA_FILE, $PROMETHEUS_TIMEOUT."""
    endpoint = Endpoint.from_env("PROMETHEUS", url, token_file, None, ca_file, insecure, timeout)
    if endpoint is None:
        raise RemoteError("no Prometheus given: --prometheus URL or $PROMETHEUS_URL")
    return Prometheus(endpoint)
