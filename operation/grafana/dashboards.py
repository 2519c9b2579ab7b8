"""The Grafana dashboards of phishline, as code: `python operation/grafana/dashboards.py`
rewrites dashboards/*.json, which Grafana provisions. Edit this file, never the JSON.

- service health: rate, errors and duration (RED) of the apps and of model-service;
- model: predictions by label, latency per model, input drift (PSI);
- experiment: v1 against v2: users, the feedback "yes" share with 95 % bands, latency.

Queries use only the metrics of docs/metrics.md and the recording rules of
operation/prometheus/rules.yml; a test checks both, and that every query parses.
"""

import argparse
import io
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from grafanalib import formatunits as units
from grafanalib._gen import write_dashboard
from grafanalib.core import (
    Dashboard,
    GridPos,
    RowPanel,
    Stat,
    Target,
    Template,
    Templating,
    Text,
    Time,
    TimeSeries,
)

OUT_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = "${datasource}"
GRID_WIDTH = 24
PANEL_HEIGHT = 8
TEXT_HEIGHT = 3
VARIANTS = ("v1", "v2")
# PSI above this is a significant shift; the PhishlineInputDrift alert uses the same mark.
PSI_ALERT = 0.25
# 95 % two-sided normal quantile, for the Wilson score bands of the yes share.
Z = 1.96
# User traffic, as in operation/prometheus/rules.yml: Prometheus' scrapes of /metrics and the
# kubelet's probes of /health/live and /health/ready are not. A readiness probe answers 503
# while the models load: counted, it would be an error users never saw.
USER_ROUTES = 'route!~"/metrics|/health/.*"'
# Users, not Flagger's load test, as in operation/prometheus/rules.yml: during a blue/green
# analysis the pods behind an app canary's `…-canary` Service (the `service` label) get only
# the load test, whose requests carry no cookie and so each assign a new user. Without the
# label (compose) every series counts.
NOT_CANARY = 'service!~".+-canary"'
# model-service's series are kept apart by track: in the cluster the shadow model's pods
# (track="candidate", docs/kubernetes.md) answer a mirror of the live traffic, often under
# the same model names, and users never see their answers or errors. Without the label
# (compose) the series are the same as without it.
TRACK = "track"
BY_MODEL = f"{TRACK}, model"

Panel = Any  # grafanalib panels are untyped attrs classes


def target(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False) -> Target:
    return Target(
        expr=expr,
        legendFormat=legend,
        refId=ref,
        instant=instant,
        datasource=DATASOURCE,
    )


def targets(*queries: tuple[str, str]) -> list[Target]:
    """One target per (expression, legend), with refIds A, B, C, ..."""
    return [target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(queries)]


def timeseries(title: str, queries: list[Target], unit: str = "", **options: Any) -> Panel:
    return TimeSeries(title=title, dataSource=DATASOURCE, targets=queries, unit=unit, **options)


def stat(title: str, queries: list[Target], unit: str = "none", **options: Any) -> Panel:
    options.setdefault("thresholds", steps(("green", None)))
    return Stat(
        title=title,
        dataSource=DATASOURCE,
        targets=queries,
        format=unit,
        reduceCalc="lastNotNull",
        graphMode="none",
        **options,
    )


def steps(*colors: tuple[str, float | None]) -> list[dict[str, Any]]:
    """Threshold steps from the lowest up; the first one starts at minus infinity (None)."""
    return [{"color": color, "value": value} for color, value in colors]


def row(title: str) -> Panel:
    return RowPanel(title=title)


def layout(panels: Iterable[tuple[Panel, int]]) -> list[Panel]:
    """Place (panel, width) pairs left to right, wrapping at the grid width; rows span it."""
    placed = []
    x = y = line_height = 0
    for panel, width in panels:
        height = (
            1
            if isinstance(panel, RowPanel)
            else TEXT_HEIGHT
            if isinstance(panel, Text)
            else PANEL_HEIGHT
        )
        if x + width > GRID_WIDTH or isinstance(panel, RowPanel):
            x, y, line_height = 0, y + line_height, 0
        panel.gridPos = GridPos(h=height, w=width, x=x, y=y)
        x += width
        line_height = max(line_height, height)
        placed.append(panel)
    return placed


def datasource_variable() -> Template:
    return Template(name="datasource", label="Data source", query="prometheus", type="datasource")


def dashboard(
    uid: str, title: str, description: str, panels: Iterable[tuple[Panel, int]], **extra: Any
) -> Dashboard:
    variables = [datasource_variable(), *extra.pop("variables", [])]
    return Dashboard(
        uid=uid,
        title=title,
        description=description,
        tags=["phishline"],
        timezone="utc",
        refresh="30s",
        templating=Templating(list=variables),
        panels=layout(panels),
        **extra,
    ).auto_panel_ids()


def rate(selector: str, by: str, window: str = "$__rate_interval") -> str:
    return f"sum by ({by}) (rate({selector}[{window}]))"


def service_health() -> Dashboard:
    # The "by route" panels show every route but /metrics, the probes too, each as its own
    # series; the shares are of user traffic only.
    not_metrics = '{route!="/metrics"}'
    app_requests = f"phishline_app_http_requests_total{not_metrics}"
    model_requests = f"phishline_model_http_requests_total{not_metrics}"
    model_duration = "phishline_model_request_duration_seconds"
    model_user_requests = f"phishline_model_http_requests_total{{{USER_ROUTES}}}"
    model_user_errors = f'phishline_model_http_requests_total{{{USER_ROUTES}, status=~"5.."}}'
    return dashboard(
        "phishline-service-health",
        "phishline / service health",
        "Rate, errors and duration of the apps (per variant) and of model-service.",
        [
            (row("app (per variant)"), GRID_WIDTH),
            (
                timeseries(
                    "Requests/s",
                    targets(("variant:phishline_app_http_requests:rate1m", "{{variant}}")),
                    units.REQUESTS_PER_SEC,
                ),
                8,
            ),
            (
                timeseries(
                    "5xx share",
                    targets(("variant:phishline_app_http_errors:ratio_rate5m", "{{variant}}")),
                    units.PERCENT_UNIT,
                ),
                8,
            ),
            (
                timeseries(
                    "Latency quantiles",
                    targets(
                        (
                            "variant:phishline_app_request_duration_seconds:quantile_rate5m",
                            "{{variant}} p{{quantile}}",
                        )
                    ),
                    units.SECONDS,
                ),
                8,
            ),
            (
                timeseries(
                    "Requests/s by route and status",
                    targets(
                        (
                            rate(app_requests, "variant, route, status"),
                            "{{variant}} {{route}} {{status}}",
                        )
                    ),
                    units.REQUESTS_PER_SEC,
                ),
                12,
            ),
            (
                timeseries(
                    "Failed model-service calls (share)",
                    targets(
                        ("variant:phishline_app_model_service_errors:ratio_rate5m", "{{variant}}"),
                    ),
                    units.PERCENT_UNIT,
                ),
                6,
            ),
            (
                timeseries(
                    "In flight",
                    targets(("sum by (variant) (phishline_app_in_flight_requests)", "{{variant}}")),
                ),
                6,
            ),
            (row("model-service"), GRID_WIDTH),
            (
                stat(
                    "Targets up",
                    targets((f'sum by ({TRACK}) (up{{job="model-service"}})', "up {{track}}")),
                    thresholds=steps(("red", None), ("green", 1)),
                ),
                4,
            ),
            (
                timeseries(
                    "Requests/s by route",
                    targets((rate(model_requests, f"{TRACK}, route"), "{{route}} {{track}}")),
                    units.REQUESTS_PER_SEC,
                ),
                10,
            ),
            (
                timeseries(
                    "5xx share",
                    targets(
                        (
                            # model-service has no 5xx series until its first 5xx: `or ... * 0`
                            # gives 0, not "No data", while nothing failed (as the app's rule).
                            f"({rate(model_user_errors, f'job, {TRACK}')}"
                            f" or {rate(model_user_requests, f'job, {TRACK}')} * 0)"
                            f" / {rate(model_user_requests, f'job, {TRACK}')}",
                            "5xx {{track}}",
                        )
                    ),
                    units.PERCENT_UNIT,
                ),
                10,
            ),
            (
                timeseries(
                    "Errors/s by reason",
                    targets(
                        (
                            rate("phishline_model_errors_total", f"{TRACK}, reason"),
                            "{{reason}} {{track}}",
                        )
                    ),
                    units.REQUESTS_PER_SEC,
                ),
                8,
            ),
            (
                timeseries(
                    "Mean latency by route",
                    targets(
                        (
                            f"{rate(f'{model_duration}_sum{not_metrics}', f'{TRACK}, route')}"
                            f" / {rate(f'{model_duration}_count{not_metrics}', f'{TRACK}, route')}",
                            "{{route}} {{track}}",
                        )
                    ),
                    units.SECONDS,
                ),
                8,
            ),
            (
                timeseries(
                    "In flight",
                    targets(
                        (
                            f"sum by ({TRACK}) (phishline_model_in_flight_requests)",
                            "in flight {{track}}",
                        )
                    ),
                ),
                8,
            ),
        ],
    )


def model() -> Dashboard:
    predictions = "phishline_model_predictions_total"
    phishing = 'phishline_model_predictions_total{label="phishing"}'
    inference = "phishline_model_inference_duration_seconds_bucket"
    return dashboard(
        "phishline-model",
        "phishline / model",
        "What the models predict, how fast, and whether live URLs still look like training.",
        [
            (
                stat("Loaded models", targets(("max(phishline_model_loaded_models)", "loaded"))),
                4,
            ),
            (
                stat(
                    "Reloads in range",
                    targets(
                        (
                            "sum by (result) (increase(phishline_model_reloads_total[$__range]))",
                            "{{result}}",
                        )
                    ),
                ),
                8,
            ),
            (
                stat(
                    "Models",
                    [
                        target(
                            f"max by ({BY_MODEL}, family, version, default) (phishline_model_info)",
                            "{{model}} {{family}} {{version}} default={{default}} {{track}}",
                            instant=True,
                        )
                    ],
                    textMode="name",
                ),
                12,
            ),
            (
                timeseries(
                    "Predictions/s by model and label",
                    targets(
                        (rate(predictions, BY_MODEL + ", label"), "{{model}} {{label}} {{track}}")
                    ),
                    units.OPS_PER_SEC,
                ),
                12,
            ),
            (
                timeseries(
                    "Phishing share by model",
                    targets(
                        (
                            f"{rate(phishing, BY_MODEL)} / {rate(predictions, BY_MODEL)}",
                            "{{model}} {{track}}",
                        )
                    ),
                    units.PERCENT_UNIT,
                ),
                12,
            ),
            (
                timeseries(
                    "Results shown to users, by variant and label",
                    targets(
                        (
                            rate("phishline_app_predictions_shown_total", "variant, label"),
                            "{{variant}} {{label}}",
                        )
                    ),
                    units.OPS_PER_SEC,
                ),
                12,
            ),
            (
                timeseries(
                    "Inference latency by model",
                    targets(
                        (
                            f"histogram_quantile(0.5, {rate(inference, BY_MODEL + ', le')})",
                            "{{model}} p50 {{track}}",
                        ),
                        (
                            f"histogram_quantile(0.95, {rate(inference, BY_MODEL + ', le')})",
                            "{{model}} p95 {{track}}",
                        ),
                    ),
                    units.SECONDS,
                ),
                12,
            ),
            (
                timeseries(
                    "Input drift (PSI) by model and feature",
                    targets(
                        (
                            f"max by ({BY_MODEL}, feature) (phishline_model_input_drift_psi)",
                            "{{model}} {{feature}} {{track}}",
                        )
                    ),
                    thresholds=steps(("green", None), ("red", PSI_ALERT)),
                    thresholdsStyleMode="line",
                ),
                12,
            ),
            (
                timeseries(
                    "Scored URL length",
                    targets(
                        (
                            f"histogram_quantile(0.5, {rate('phishline_model_url_length_characters_bucket', 'le')})",
                            "p50",
                        ),
                        (
                            f"histogram_quantile(0.95, {rate('phishline_model_url_length_characters_bucket', 'le')})",
                            "p95",
                        ),
                    ),
                    "chars",
                ),
                12,
            ),
        ],
    )


def yes_share_with_band(window: str) -> tuple[str, str, str]:
    """The per-answer yes share over `window` per variant and its 95 % Wilson score band."""
    yes = f'sum by (variant) (increase(phishline_app_feedback_total{{answer="yes"}}[{window}]))'
    answers = f"sum by (variant) (increase(phishline_app_feedback_total[{window}]))"
    share = f"({yes} / {answers})"
    z2 = Z * Z
    center = f"({share} + {z2 / 2:g} / {answers})"
    spread = f"{Z:g} * sqrt({share} * (1 - {share}) / {answers} + {z2 / 4:g} / {answers} ^ 2)"
    scale = f"(1 + {z2:g} / {answers})"
    return share, f"({center} - {spread}) / {scale}", f"({center} + {spread}) / {scale}"


def band_overrides() -> list[dict[str, Any]]:
    """Fill each variant's band between its upper and lower series; bands draw no line."""
    overrides = []
    for variant in VARIANTS:
        overrides.append(
            {
                "matcher": {"id": "byName", "options": f"{variant} upper"},
                "properties": [
                    {"id": "custom.fillBelowTo", "value": f"{variant} lower"},
                    {"id": "custom.lineWidth", "value": 0},
                    {"id": "custom.fillOpacity", "value": 20},
                ],
            }
        )
        overrides.append(
            {
                "matcher": {"id": "byName", "options": f"{variant} lower"},
                "properties": [{"id": "custom.lineWidth", "value": 0}],
            }
        )
    return overrides


def experiment() -> Dashboard:
    share, lower, upper = yes_share_with_band("$window")
    range_share, range_lower, range_upper = yes_share_with_band("$__range")
    window = Template(
        name="window",
        label="Rolling window",
        query="1h,6h,1d,7d",
        default="1d",
        type="interval",
    )
    return dashboard(
        "phishline-experiment",
        "phishline / experiment v1 vs v2",
        "Do users prefer the verdict (v1) or the probability (v2)? Per-answer monitoring; "
        "the decision is `phishline experiment analyze` (per user, with an SRM check).",
        [
            (
                Text(
                    title="How to read this",
                    content=(
                        "Shares here are **per answer** over the chosen window, with 95 % "
                        "Wilson bands: a monitoring view. The A/B decision counts **per user** "
                        "and checks the sample ratio first: run `phishline experiment analyze` "
                        "(docs/experiment.md). Looking at these bands repeatedly and stopping "
                        "when they separate inflates false positives."
                    ),
                    mode="markdown",
                ),
                24,
            ),
            (
                stat(
                    "Users assigned (in range)",
                    targets(
                        (
                            f"sum by (variant) (increase(phishline_app_new_users_total{{{NOT_CANARY}}}[$__range]))",
                            "{{variant}}",
                        )
                    ),
                    decimals=0,
                ),
                8,
            ),
            (
                stat(
                    "Answers (in range)",
                    targets(
                        (
                            "sum by (variant) (increase(phishline_app_feedback_total[$__range]))",
                            "{{variant}}",
                        )
                    ),
                    decimals=0,
                ),
                8,
            ),
            (
                stat(
                    "Yes share (in range), 95 % band",
                    targets(
                        (range_share, "{{variant}}"),
                        (range_lower, "{{variant}} lower"),
                        (range_upper, "{{variant}} upper"),
                    ),
                    units.PERCENT_UNIT,
                    decimals=1,
                ),
                8,
            ),
            (
                timeseries(
                    "Yes share over the rolling window, 95 % band",
                    targets(
                        (share, "{{variant}}"),
                        (lower, "{{variant}} lower"),
                        (upper, "{{variant}} upper"),
                    ),
                    units.PERCENT_UNIT,
                    overrides=band_overrides(),
                ),
                24,
            ),
            (
                timeseries(
                    "New users per hour",
                    targets(
                        (
                            f"{rate(f'phishline_app_new_users_total{{{NOT_CANARY}}}', 'variant')} * 3600",
                            "{{variant}}",
                        )
                    ),
                ),
                8,
            ),
            (
                timeseries(
                    "Answers per hour",
                    targets(
                        (
                            "sum by (variant, answer) (rate(phishline_app_feedback_total[$__rate_interval])) * 3600",
                            "{{variant}} {{answer}}",
                        )
                    ),
                ),
                8,
            ),
            (
                timeseries(
                    "p95 latency",
                    targets(
                        (
                            'variant:phishline_app_request_duration_seconds:quantile_rate5m{quantile="0.95"}',
                            "{{variant}}",
                        )
                    ),
                    units.SECONDS,
                ),
                8,
            ),
            (
                timeseries(
                    "Time from result to answer (median)",
                    targets(
                        (
                            f"histogram_quantile(0.5, {rate('phishline_app_feedback_delay_seconds_bucket', 'variant, le')})",
                            "{{variant}}",
                        )
                    ),
                    units.SECONDS,
                ),
                12,
            ),
            (
                timeseries(
                    "Results shown per hour",
                    targets(
                        (
                            "sum by (variant) (rate(phishline_app_predictions_shown_total[$__rate_interval])) * 3600",
                            "{{variant}}",
                        )
                    ),
                ),
                12,
            ),
        ],
        variables=[window],
        time=Time("now-14d", "now"),
    )


DASHBOARDS = {
    "service-health": service_health,
    "model": model,
    "experiment": experiment,
}


def render(board: Dashboard) -> str:
    stream = io.StringIO()
    write_dashboard(board, stream)
    return stream.getvalue()


def write_all(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in DASHBOARDS.items():
        path = out_dir / f"{name}.json"
        path.write_text(render(build()), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the Grafana dashboards as JSON.")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"default {OUT_DIR}")
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
