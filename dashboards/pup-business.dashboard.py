"""pup.ai business dashboard: what the product does, next to what it costs.

obsgen loads every dashboards/*.dashboard.py, calls dashboard(project) and writes the result to
output/grafana/dashboards/<FOLDER>/<uid>.json. obsgen.grafana.panels gives the same helpers obsgen uses.
"""
from obsgen.grafana import panels
from obsgen.grafana.panels import Row

FOLDER = "pup-ai"

RATE = "$__rate_interval"


def dashboard(project):
    api = project.service("pup-api")
    return panels.dashboard(
        "pup.ai business",
        "pup-business",
        [
            Row("Conversations", [
                panels.timeseries(
                    "Conversations per minute",
                    [(f'sum(rate(pup_conversations_started_total{{env=~"$env"}}[{RATE}])) * 60', "started"),
                     (f'sum(rate(pup_messages_total{{env=~"$env", role="user"}}[{RATE}])) * 60', "user messages")],
                    "short", min_value=0,
                ),
                panels.stat("Active users (24h)", 'sum(pup_active_users{window="24h", env=~"$env"})', "short"),
                panels.stat(
                    "API availability (30d)",
                    '1 - slo:sli_error:ratio_rate30d{service="pup-api", slo="availability"}',
                    "percentunit",
                    thresholds=[(None, "red"), (0.999, "green")],
                ),
            ], widths=[12, 6, 6]),
            Row("AI spend", [
                panels.timeseries(
                    "Tokens per minute by model",
                    [(f'sum by (model) (rate(pup_ai_tokens_total{{env=~"$env"}}[{RATE}])) * 60', "{{model}}")],
                    "short", min_value=0,
                ),
                panels.timeseries(
                    "Estimated spend per hour",
                    [(f'sum by (model) (rate(pup_ai_cost_dollars_total{{env=~"$env"}}[{RATE}])) * 3600', "{{model}}")],
                    "currencyUSD", min_value=0,
                ),
                panels.bargauge("Tokens per conversation (1h)",
                                'sum(increase(pup_ai_tokens_total[1h])) / sum(increase(pup_conversations_started_total[1h]))', "short"),
            ]),
        ],
        tags=["obsgen", "pup-ai", "business"],
        links=[panels.link("pup-api runbook", api.runbook)] if api else [],
        description="Conversations, users and AI tokens of pup.ai; owned by the product team.",
    )
