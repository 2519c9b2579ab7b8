"""operation/prometheus: scrape config and rules checked, rules unit-tested, by promtool."""

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "operation" / "prometheus"
RULES = PROMETHEUS_DIR / "rules.yml"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.test.yml"))
MetricNames = Callable[[str], set[str]]
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_LABEL_CLAUSE = re.compile(r"\b(by|without|on|ignoring)\s*\(([^)]*)\)")
# An aggregation operator: its name, then its operand or its label clause.
_AGGREGATION = re.compile(
    r"\b(?:sum|min|max|avg|group|stddev|stdvar|count|count_values|topk|bottomk|quantile|limitk"
    r"|limit_ratio)\s*(?=\(|by\b|without\b)"
)


def promtool_run(promtool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)], capture_output=True, text=True, check=False, timeout=120
    )


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def unit_tests() -> list[dict[str, Any]]:
    return [
        case
        for path in RULE_TESTS
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
    ]


def test_scrape_config_is_valid(promtool: str) -> None:
    result = promtool_run(promtool, "check", "config", PROMETHEUS_DIR / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


def test_scrape_config_watches_the_local_stack() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {
        job["job_name"]: sorted(t for sc in job["static_configs"] for t in sc["targets"])
        for job in config["scrape_configs"]
    }
    assert targets == {
        "prometheus": ["127.0.0.1:9090"],
        "model-service": ["127.0.0.1:8081"],
        "app": ["127.0.0.1:8080", "127.0.0.1:8082"],
        "alertmanager": ["127.0.0.1:9093"],
    }
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == ["127.0.0.1:9093"]
    assert config["rule_files"] == ["rules.yml"]


def test_rules_pass_promtool_check(promtool: str) -> None:
    result = promtool_run(promtool, "check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_rule_unit_tests_pass(promtool: str) -> None:
    result = promtool_run(promtool, "test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS)


@pytest.mark.parametrize(
    ("original", "broken", "test_file", "failing"),
    [
        (
            "variant:phishline_app_http_requests:rate1m > 10",
            "variant:phishline_app_http_requests:rate1m > 15",
            "alerts.test.yml",
            "PhishlineTooManyRequests",
        ),
        (
            'sum by (namespace, variant) (rate(phishline_app_http_requests_total{route!~"/metrics|/health/.*", service!~".+-canary"}[1m]))',
            'sum by (namespace, variant) (rate(phishline_app_http_requests_total{route!="/metrics", service!~".+-canary"}[1m]))',
            "recording.test.yml",
            "variant:phishline_app_http_requests:rate1m",
        ),
        (
            'sum by (namespace, variant) (rate(phishline_app_http_requests_total{route!~"/metrics|/health/.*", service!~".+-canary"}[1m]))',
            'sum by (namespace, variant) (rate(phishline_app_http_requests_total{route!~"/metrics|/health/.*"}[1m]))',
            "alerts.test.yml",
            "PhishlineTooManyRequests",
        ),
    ],
    ids=["alert threshold", "recording selector", "canary load test"],
)
def test_rule_unit_tests_catch_a_broken_rule(
    promtool: str, tmp_path: Path, original: str, broken: str, test_file: str, failing: str
) -> None:
    text = RULES.read_text(encoding="utf-8")
    assert original in text
    (tmp_path / "rules.yml").write_text(text.replace(original, broken, 1), encoding="utf-8")
    shutil.copytree(PROMETHEUS_DIR / "tests", tmp_path / "tests")
    result = promtool_run(promtool, "test", "rules", tmp_path / "tests" / test_file)
    assert result.returncode != 0
    assert failing in result.stdout + result.stderr


def namespace_problems(expr: str) -> list[str]:
    """How an expression loses the namespace label: an aggregation or a join that does not
    keep it by name (`by`, `on`), leaves it out (`without`, `ignoring`), or an aggregation
    with no label clause at all, which keeps no label."""
    text = _STRING.sub('""', expr)
    problems = []
    for clause, labels in _LABEL_CLAUSE.findall(text):
        named = "namespace" in re.split(r"\s*,\s*", labels.strip())
        if named is (clause in ("without", "ignoring")):
            problems.append(f"{clause} ({labels.strip()})")
    grouped = sum(clause in ("by", "without") for clause, _ in _LABEL_CLAUSE.findall(text))
    if len(_AGGREGATION.findall(text)) > grouped:
        problems.append("an aggregation without by or without")
    return problems


def test_every_aggregation_and_join_keeps_the_namespace() -> None:
    """In the cluster an alert reaches its release's AlertmanagerConfig by its namespace."""
    found = [
        (rule.get("alert") or rule["record"], namespace_problems(rule["expr"])) for rule in rules()
    ]
    assert [(name, problems) for name, problems in found if problems] == []


def test_an_expression_that_drops_the_namespace_is_caught() -> None:
    kept = (
        'sum by (namespace, variant) (rate(a_count{route!~"by (x)"}[5m]))'
        " / on (namespace, variant) group_left max without (pod) (b)"
        " > ignoring (quantile) histogram_quantile(0.9, sum(rate(c[5m])) by (namespace, le))"
    )
    assert namespace_problems(kept) == []
    assert namespace_problems("sum by (variant) (a)") == ["by (variant)"]
    assert namespace_problems("max without (namespace, pod) (a)") == ["without (namespace, pod)"]
    assert namespace_problems("a / on (variant) b") == ["on (variant)"]
    assert namespace_problems("a / ignoring (namespace) b") == ["ignoring (namespace)"]
    assert namespace_problems("sum(rate(a[5m])) > 1") == ["an aggregation without by or without"]
    assert namespace_problems("count (a) / sum by (namespace) (b)") == [
        "an aggregation without by or without"
    ]


def test_every_alert_is_tested_firing_at_each_severity_and_silent() -> None:
    fired: set[tuple[str, str]] = set()
    silent: set[str] = set()
    for case in unit_tests():
        for check in case.get("alert_rule_test", []):
            if check["exp_alerts"]:
                fired |= {
                    (alert["exp_labels"]["alertname"], alert["exp_labels"]["severity"])
                    for alert in check["exp_alerts"]
                }
            else:
                silent.add(check["alertname"])
    alerts = {(rule["alert"], rule["labels"]["severity"]) for rule in rules() if "alert" in rule}
    assert alerts - fired == set(), "alerts never seen firing in a unit test"
    assert {name for name, _ in alerts} - silent == set(), "alerts never checked silent"


def test_every_recording_rule_is_tested(recorded: set[str]) -> None:
    tested = {
        sample["labels"].split("{", 1)[0]
        for case in unit_tests()
        for check in case.get("promql_expr_test", [])
        for sample in check["exp_samples"]
    }
    assert recorded - tested == set()


def test_rules_select_only_metrics_the_code_exports(
    known_metrics: frozenset[str], promql_metric_names: MetricNames
) -> None:
    for rule in rules():
        selected = promql_metric_names(rule["expr"])
        assert selected, rule["expr"]
        assert selected <= known_metrics, (
            rule.get("alert") or rule["record"],
            selected - known_metrics,
        )


def test_metric_names_are_read_from_promql(promql_metric_names: MetricNames) -> None:
    expr = (
        'histogram_quantile(0.95, sum by (variant, le) (rate(a_bucket{route!="/x"}[5m]))) > 1'
        " and on (variant) b:c:rate5m > 0.05 or vector(0) offset 5m"
    )
    assert promql_metric_names(expr) == {"a_bucket", "b:c:rate5m"}


def test_a_misspelt_metric_is_not_known(
    known_metrics: frozenset[str], promql_metric_names: MetricNames
) -> None:
    misspelt = "sum by (variant) (rate(phishline_app_http_request_total[5m]))"
    assert promql_metric_names(misspelt) - known_metrics == {"phishline_app_http_request_total"}


def test_known_metrics_come_from_the_registries(exported_metrics: frozenset[str]) -> None:
    assert {
        "phishline_app_feedback_total",
        "phishline_app_request_duration_seconds_bucket",
        "phishline_app_model_service_duration_seconds_count",
        "phishline_model_input_drift_psi",
        "phishline_model_inference_duration_seconds_bucket",
    } <= exported_metrics
    assert "phishline_app_feedback" not in exported_metrics  # a counter's family, no series
