"""kube-prometheus-stack integration: the chart ships the project's one rule file, its
dashboards and its Alertmanager policy unchanged, and scrapes what the rules expect."""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

Manifest = dict[str, Any]
One = Callable[[list[Manifest], str, str], Manifest]
OPERATION = Path(__file__).resolve().parents[2] / "operation"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_prometheus_rule_is_the_projects_rule_file(
    defaults: list[Manifest], one_object: One
) -> None:
    rule = one_object(defaults, "PrometheusRule", "phishline")
    assert rule["spec"] == load_yaml(OPERATION / "prometheus" / "rules.yml")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


# The longest ServiceMonitor interval the values schema takes.
LONGEST_INTERVAL_SECONDS = 30


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"([0-9]+)(ms|s|m|h)", duration)
    assert match, duration
    number, unit = match.groups()
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def test_the_longest_scrape_interval_taken_leaves_two_samples_in_every_rate_window() -> None:
    """rate() needs two samples in its window: a ServiceMonitor scraping less often than half
    the rules' shortest window leaves their series empty, and the alerts on them silent."""
    rules = (OPERATION / "prometheus" / "rules.yml").read_text(encoding="utf-8")
    shortest = min(_seconds(window) for window in re.findall(r"\[([0-9]+[smh])\]", rules))
    assert shortest / 2 == LONGEST_INTERVAL_SECONDS


@pytest.mark.parametrize("interval", ["1m", "31s", "45s", "30001ms", "0s", "15"])
def test_a_scrape_interval_too_long_for_the_rules_is_refused(
    rendered: Callable[[dict[str, Any]], list[Manifest]], interval: str
) -> None:
    with pytest.raises(
        helm.HelmValuesError, match=re.escape("at '/monitoring/serviceMonitor/interval'")
    ):
        rendered({"monitoring": {"serviceMonitor": {"interval": interval}}})


@pytest.mark.parametrize("interval", ["15s", "30s", "500ms", "30000ms"])
def test_a_scrape_interval_within_the_rules_windows_is_taken(
    rendered: Callable[[dict[str, Any]], list[Manifest]], interval: str
) -> None:
    assert _seconds(interval) <= LONGEST_INTERVAL_SECONDS
    manifests = rendered({"monitoring": {"serviceMonitor": {"interval": interval}}})
    monitors = [m for m in manifests if m["kind"] == "ServiceMonitor"]
    assert monitors
    assert all(e["interval"] == interval for m in monitors for e in m["spec"]["endpoints"])


def test_every_dashboard_ships_in_a_sidecar_config_map(defaults: list[Manifest]) -> None:
    dashboards = sorted((OPERATION / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    shipped = {
        key: value
        for m in defaults
        if m["kind"] == "ConfigMap" and m["metadata"]["labels"].get("grafana_dashboard") == "1"
        for key, value in m["data"].items()
    }
    assert shipped == {path.name: path.read_text(encoding="utf-8") for path in dashboards}
    for text in shipped.values():
        json.loads(text)


def test_the_alertmanager_config_follows_the_projects_policy(
    defaults: list[Manifest], one_object: One
) -> None:
    policy = load_yaml(OPERATION / "alertmanager" / "alertmanager.yml")
    spec = one_object(defaults, "AlertmanagerConfig", "phishline")["spec"]
    route = policy["route"]
    assert spec["route"]["receiver"] == route["receiver"]
    assert spec["route"]["groupBy"] == route["group_by"]
    assert (
        spec["route"]["groupWait"],
        spec["route"]["groupInterval"],
        spec["route"]["repeatInterval"],
    ) == (route["group_wait"], route["group_interval"], route["repeat_interval"])
    assert [matcher_text(m) for r in spec["route"]["routes"] for m in r["matchers"]] == [
        m for r in route["routes"] for m in r["matchers"]
    ]
    assert [
        (
            [matcher_text(m) for m in rule["sourceMatch"]],
            [matcher_text(m) for m in rule["targetMatch"]],
            rule.get("equal"),
        )
        for rule in spec["inhibitRules"]
    ] == [
        (rule["source_matchers"], rule["target_matchers"], rule.get("equal"))
        for rule in policy["inhibit_rules"]
    ]
    email = spec["receivers"][0]["emailConfigs"][0]
    expected = policy["receivers"][0]["email_configs"][0]
    assert email["text"] == expected["text"]
    assert {h["key"]: h["value"] for h in email["headers"]} == expected["headers"]
    assert email["authPassword"] == {"name": "phishline-secrets", "key": "smtp-password"}
    secret = one_object(defaults, "Secret", "phishline-secrets")
    assert "smtp-password" in secret["data"]


def matcher_text(matcher: dict[str, str]) -> str:
    return f'{matcher["name"]}{matcher["matchType"]}"{matcher["value"]}"'


def scraped_services(manifests: list[Manifest]) -> set[str]:
    monitor = next(m for m in manifests if m["kind"] == "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"].items()
    return {
        m["metadata"]["name"]
        for m in manifests
        if m["kind"] == "Service" and selector <= m["metadata"]["labels"].items()
    }


def test_the_service_monitor_scrapes_each_pod_once(defaults: list[Manifest]) -> None:
    # The combined app Service points at the same pods as the variants' ones.
    assert scraped_services(defaults) == {
        "phishline-model-service",
        "phishline-app-v1",
        "phishline-app-v2",
    }


def test_jobs_are_named_as_the_rules_expect(defaults: list[Manifest], one_object: One) -> None:
    """rules.yml watches `up{job="model-service"}`; the local Prometheus names its jobs so."""
    monitor = one_object(defaults, "ServiceMonitor", "phishline")
    local_jobs = {
        job["job_name"]
        for job in load_yaml(OPERATION / "prometheus" / "prometheus.yml")["scrape_configs"]
    }
    for name in scraped_services(defaults):
        service = one_object(defaults, "Service", name)
        assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] in local_jobs


def test_flaggers_primary_and_canary_services_are_scraped(
    rendered: Callable[[dict[str, Any]], list[Manifest]],
) -> None:
    manifests = rendered({"canary": {"enabled": True}})
    monitor = next(m for m in manifests if m["kind"] == "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"].items()
    canaries = [m for m in manifests if m["kind"] == "Canary"]
    assert {c["metadata"]["name"] for c in canaries} == {
        "phishline-model-service",
        "phishline-app-v1",
        "phishline-app-v2",
    }
    for canary in canaries:
        service = canary["spec"]["service"]
        assert "apex" not in service
        for generated in ("primary", "canary"):
            assert selector <= service[generated]["labels"].items()


def test_pods_carry_scrape_annotations(defaults: list[Manifest]) -> None:
    for deployment in (m for m in defaults if m["kind"] == "Deployment"):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        port = deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)
        assert annotations["prometheus.io/path"] == "/metrics"


def added_target_labels(monitor: Manifest) -> set[str]:
    """The labels the ServiceMonitor puts on every scraped series besides Prometheus' own."""
    spec = monitor["spec"]
    # The operator names a copied pod or Service label as Prometheus sanitizes it.
    copied = {
        re.sub(r"[^a-zA-Z0-9_]", "_", name)
        for name in (*spec.get("podTargetLabels", []), *spec.get("targetLabels", []))
    }
    relabeled = {
        rule["targetLabel"]
        for endpoint in spec["endpoints"]
        for rule in endpoint.get("relabelings", [])
        if "targetLabel" in rule
    }
    return copied | relabeled


def metric_label_names() -> set[str]:
    """Every label name in docs/metrics.md's tables (the values in parentheses left out)."""
    names = set()
    for line in (OPERATION.parent / "docs" / "metrics.md").read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if len(cells) == 6 and cells[1].strip().startswith("`phishline_"):
            names |= set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", cells[3])))
    return names


def test_target_labels_leave_the_metrics_own_labels_alone(
    rendered: Callable[[dict[str, Any]], list[Manifest]],
) -> None:
    """A target label named like a metric's label (`version` of phishline_model_info)
    renames the metric's one to exported_version and breaks the queries that use it."""
    own = metric_label_names()
    assert {"version", "variant", "model", "route"} <= own
    monitor = next(m for m in rendered({}) if m["kind"] == "ServiceMonitor")
    added = added_target_labels(monitor)
    assert added & own == set()
    assert "track" in added


def test_model_service_pods_carry_their_track(
    rendered: Callable[[dict[str, Any]], list[Manifest]], one_object: One
) -> None:
    manifests = rendered({"modelService": {"shadow": {"enabled": True}}})
    monitor = one_object(manifests, "ServiceMonitor", "phishline")
    assert {
        "sourceLabels": ["__meta_kubernetes_pod_label_phishline_io_track"],
        "targetLabel": "track",
    } in monitor["spec"]["endpoints"][0]["relabelings"]
    for name, track in (
        ("phishline-model-service", "stable"),
        ("phishline-model-service-candidate", "candidate"),
    ):
        labels = one_object(manifests, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert labels["phishline.io/track"] == track
