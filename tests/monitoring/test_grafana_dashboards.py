"""operation/grafana: the committed JSON is the generator's output, and every panel query
parses and selects only metrics the code exports (or the recording rules write)."""

import json
import re
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

GRAFANA_DIR = Path(__file__).resolve().parents[2] / "operation" / "grafana"
COMMITTED = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
# Grafana fills these in before querying; any valid value makes the query parseable.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "1d", "$window": "1d"}
# User traffic, as the recording rules select it: no scrapes of /metrics, no kubelet probes.
USER_TRAFFIC = 'route!~"/metrics|/health/.*"'
# The raw request series of the apps and of model-service (the recorded ones are user traffic
# already), with their matchers.
_REQUEST_SERIES = re.compile(
    r"(?<![\w:])(phishline_(?:app|model)_(?:http_requests_total|request_duration_seconds"
    r"(?:_bucket|_count|_sum)?))(?![\w:])(\{[^}]*\})?"
)
_BY_ROUTE = re.compile(r"\bby\s*\([^)]*\broute\b[^)]*\)")


@pytest.fixture(scope="module")
def generator(operation_module: Callable[[Path], ModuleType]) -> ModuleType:
    return operation_module(GRAFANA_DIR / "dashboards.py")


def panels(board: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries() -> list[tuple[str, str]]:
    """(dashboard / panel, PromQL with Grafana's variables filled in) of every target."""
    found = []
    for path in COMMITTED:
        board = json.loads(path.read_text(encoding="utf-8"))
        for panel in panels(board):
            for target in panel.get("targets", []):
                expr = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                found.append((f"{board['title']} / {panel['title']}", expr))
    return found


def probe_counting(found: Iterable[tuple[str, str]]) -> list[str]:
    """Queries of user traffic (a rate, a share or a latency not broken down by route) that
    count the kubelet's probes or Prometheus' scrapes: a readiness probe answering 503 while
    the models load would be a 5xx no user saw, and every probe dilutes the share."""
    problems = []
    for where, expr in found:
        if _BY_ROUTE.search(expr):
            continue  # one series per route: the probes are series of their own, on purpose
        for metric, matchers in _REQUEST_SERIES.findall(expr):
            if USER_TRAFFIC not in matchers:
                problems.append(f"{where}: {metric}{matchers}")
    return problems


def test_committed_json_is_what_the_generator_writes(generator: ModuleType, tmp_path: Path) -> None:
    written = generator.write_all(tmp_path)
    assert [path.name for path in sorted(written)] == [path.name for path in COMMITTED]
    for path in COMMITTED:
        assert (tmp_path / path.name).read_text(encoding="utf-8") == path.read_text(
            encoding="utf-8"
        ), f"{path.name} is stale: run python operation/grafana/dashboards.py"


def test_generator_main_writes_every_dashboard(
    generator: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generator.main(["--out", str(tmp_path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(COMMITTED) == 3


def test_every_panel_query_parses(check_queries: Callable[[Iterable[str]], str]) -> None:
    found = queries()
    assert len(found) > 30
    assert not [where for where, expr in found if "$" in expr], "unfilled Grafana variables"
    assert f"SUCCESS: {len(found)} rules found" in check_queries(expr for _, expr in found)


def test_a_broken_query_fails_the_parse_check(
    check_queries: Callable[[Iterable[str]], str],
) -> None:
    with pytest.raises(AssertionError, match="parse error"):
        check_queries(["sum by (variant) (rate(phishline_app_feedback_total[5m])"])


def test_every_panel_selects_known_metrics(
    known_metrics: frozenset[str], promql_metric_names: Callable[[str], set[str]]
) -> None:
    unknown = {}
    for where, expr in queries():
        selected = promql_metric_names(expr)
        assert selected, f"{where}: selects no metric"
        if selected - known_metrics:
            unknown[where] = selected - known_metrics
    assert unknown == {}


def test_user_traffic_panels_leave_out_probes_and_scrapes(
    generator: ModuleType, prometheus_dir: Path
) -> None:
    assert probe_counting(queries()) == []
    # The rules' own matcher, spelt the same way in the generator.
    assert USER_TRAFFIC in (prometheus_dir / "rules.yml").read_text(encoding="utf-8")
    assert generator.USER_ROUTES == USER_TRAFFIC


def test_by_route_panels_leave_out_the_scrapes() -> None:
    """docs/metrics.md: the "by route" panels show every route but /metrics."""
    unfiltered = [
        f"{where}: {metric}{matchers}"
        for where, expr in queries()
        if _BY_ROUTE.search(expr)
        for metric, matchers in _REQUEST_SERIES.findall(expr)
        if 'route!="/metrics"' not in matchers and USER_TRAFFIC not in matchers
    ]
    assert unfiltered == []


def test_probe_counting_queries_are_caught() -> None:
    scrapes = 'phishline_model_http_requests_total{route!="/metrics"}'
    errors = 'phishline_model_http_requests_total{route!="/metrics", status=~"5.."}'
    buckets = "phishline_app_request_duration_seconds_bucket"
    user_sum = f"phishline_model_request_duration_seconds_sum{{{USER_TRAFFIC}}}"
    user = f"phishline_model_http_requests_total{{{USER_TRAFFIC}}}"
    found = [
        ("share", f"sum(rate({errors}[5m])) / sum(rate({scrapes}[5m]))"),
        ("latency", f"histogram_quantile(0.9, sum by (le) (rate({buckets}[5m])))"),
        (
            "mean",
            f"sum(rate({user_sum}[5m])) / sum(rate(phishline_model_request_duration_seconds_count[5m]))",
        ),
        ("by route", f"sum by (route, status) (rate({scrapes}[5m]))"),
        ("recorded", "variant:phishline_app_request_duration_seconds:quantile_rate5m"),
        ("user", f"sum by (job) (rate({user}[5m]))"),
    ]
    assert probe_counting(found) == [
        f"share: {errors}",
        f"share: {scrapes}",
        f"latency: {buckets}",
        "mean: phishline_model_request_duration_seconds_count",
    ]


def test_the_experiment_bands_are_filled_per_variant() -> None:
    board = json.loads((GRAFANA_DIR / "dashboards" / "experiment.json").read_text("utf-8"))
    band = next(panel for panel in panels(board) if panel["title"].startswith("Yes share over"))
    legends = [target["legendFormat"] for target in band["targets"]]
    assert legends == ["{{variant}}", "{{variant}} lower", "{{variant}} upper"]
    fills = {
        override["matcher"]["options"]: prop["value"]
        for override in band["fieldConfig"]["overrides"]
        for prop in override["properties"]
        if prop["id"] == "custom.fillBelowTo"
    }
    assert fills == {"v1 upper": "v1 lower", "v2 upper": "v2 lower"}


def test_panels_do_not_overlap() -> None:
    for path in COMMITTED:
        board = json.loads(path.read_text(encoding="utf-8"))
        cells: dict[tuple[int, int], str] = {}
        for panel in panels(board):
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24, panel["title"]
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    assert (x, y) not in cells, f"{path.name}: {panel['title']} on {cells[(x, y)]}"
                    cells[(x, y)] = panel["title"]


def test_wilson_band_matches_the_formula(generator: ModuleType) -> None:
    """Evaluate the generated band expressions for known counts (the PromQL arithmetic is
    also Python arithmetic once the selectors are replaced by numbers)."""
    share, lower, upper = generator.yes_share_with_band("1d")
    yes_selector = re.compile(r"sum by \(variant\) \(increase\([^)]*answer=\"yes\"[^)]*\)\)")
    all_selector = re.compile(r"sum by \(variant\) \(increase\([^)]*\)\)")

    def evaluate(expr: str, yes: int, answers: int) -> float:
        arithmetic = all_selector.sub(str(answers), yes_selector.sub(str(yes), expr))
        arithmetic = arithmetic.replace("^", "**").replace("sqrt", "math_sqrt")
        namespace = {"__builtins__": {}, "math_sqrt": lambda v: v**0.5}
        value: float = eval(arithmetic, namespace)  # noqa: S307  (numbers and + - * / only)
        return value

    assert evaluate(share, 40, 50) == pytest.approx(0.8)
    # Wilson 95 % interval of 40/50 (Newcombe 1998, method 3): 0.6696 to 0.8876.
    assert evaluate(lower, 40, 50) == pytest.approx(0.6696, abs=1e-4)
    assert evaluate(upper, 40, 50) == pytest.approx(0.8876, abs=1e-4)


def panel_query(dashboard: str, title: str, metric: str) -> str:
    """The one query of a panel that selects `metric`, with Grafana's variables filled in."""
    (expr,) = [
        expr for where, expr in queries() if where == f"{dashboard} / {title}" and metric in expr
    ]
    return expr


def evaluate_panel(
    promtool: str,
    tmp_path: Path,
    expr: str,
    series: dict[str, str],
    expected: list[float],
    labels: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `promtool test rules` on `expr` over `series` (15 s samples), expecting one
    sample per value of `expected` after 10 minutes, labelled by the matching `labels`
    (default: `job` only)."""
    labels = labels or ['{job="model-service"}'] * len(expected)
    case = {
        "interval": "15s",
        "input_series": [{"series": name, "values": values} for name, values in series.items()],
        "promql_expr_test": [
            {
                "expr": expr,
                "eval_time": "10m",
                "exp_samples": [
                    {"labels": label, "value": value}
                    for label, value in zip(labels, expected, strict=True)
                ],
            }
        ],
    }
    path = tmp_path / "panel.test.yml"
    path.write_text(yaml.safe_dump({"rule_files": [], "tests": [case]}), encoding="utf-8")
    return subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False
    )


def test_model_service_error_share_is_zero_not_no_data_while_nothing_fails(
    promtool: str, tmp_path: Path
) -> None:
    """model-service has no 5xx series until its first 5xx; the panel must show 0 then,
    like the app's recorded share, not "No data"."""
    requests = "phishline_model_http_requests_total"
    expr = panel_query("phishline / service health", "5xx share", requests)
    healthy = {
        f'{requests}{{job="model-service", route="/v1/predict", status="200"}}': "0+30x60",
        f'{requests}{{job="model-service", route="/health/ready", status="200"}}': "0+3x60",
    }
    result = evaluate_panel(promtool, tmp_path, expr, healthy, [0])
    assert result.returncode == 0, result.stdout + result.stderr
    failing = {
        **healthy,
        f'{requests}{{job="model-service", route="/v1/predict", status="500"}}': "0+10x60",
        # A readiness probe's 503 while the models load is no user's error.
        f'{requests}{{job="model-service", route="/health/ready", status="503"}}': "0+30x60",
    }
    result = evaluate_panel(promtool, tmp_path, expr, failing, [0.25])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_shadow_models_predictions_are_kept_apart_from_the_stable_ones(
    promtool: str, tmp_path: Path
) -> None:
    """The candidate answers a mirror of the same requests, under the same model name: added
    to the stable pods' counts it would double the rate and blend the two phishing shares."""
    predictions = "phishline_model_predictions_total"
    expr = panel_query("phishline / model", "Phishing share by model", predictions)
    series = {
        f'{predictions}{{track="{track}", model="ensemble", label="{label}"}}': f"0+{n}x60"
        for track, label, n in [
            ("stable", "phishing", 10), ("stable", "legitimate", 30),
            ("candidate", "phishing", 20), ("candidate", "legitimate", 20),
        ]
    }  # fmt: skip
    result = evaluate_panel(
        promtool, tmp_path, expr, series, [0.25, 0.5],
        ['{track="stable", model="ensemble"}', '{track="candidate", model="ensemble"}'],
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_shadow_models_errors_are_not_the_users(promtool: str, tmp_path: Path) -> None:
    requests = "phishline_model_http_requests_total"
    expr = panel_query("phishline / service health", "5xx share", requests)
    predict = 'job="model-service", route="/v1/predict"'
    series = {
        f'{requests}{{{predict}, track="stable", status="200"}}': "0+30x60",
        f'{requests}{{{predict}, track="candidate", status="200"}}': "0+15x60",
        f'{requests}{{{predict}, track="candidate", status="500"}}': "0+15x60",
    }
    result = evaluate_panel(
        promtool, tmp_path, expr, series, [0, 0.5],
        ['{job="model-service", track="stable"}', '{job="model-service", track="candidate"}'],
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_new_users_leave_out_the_load_test_on_an_app_canary(promtool: str, tmp_path: Path) -> None:
    """Flagger's load test on a blue/green app canary sends no cookie: each of its requests
    (20/s with the chart's defaults) assigns a new user, thousands per release, whom no user
    ever was. In the cluster their series carry the canary Service's name."""
    new_users = "phishline_app_new_users_total"
    series = {
        f'{new_users}{{variant="v1", service="phishline-app-v1-primary"}}': "0+1x60",
        f'{new_users}{{variant="v1", service="phishline-app-v1-canary"}}': "0+300x60",
        f'{new_users}{{variant="v2", service="phishline-app-v2"}}': "0+2x60",
    }
    # Per hour, and over the range (the 10 minutes of samples).
    for title, expected in (
        ("New users per hour", [240, 480]),
        ("Users assigned (in range)", [40, 80]),
    ):
        expr = panel_query("phishline / experiment v1 vs v2", title, new_users)
        result = evaluate_panel(
            promtool, tmp_path, expr, series, expected, ['{variant="v1"}', '{variant="v2"}']
        )
        assert result.returncode == 0, f"{title}: {result.stdout}{result.stderr}"
