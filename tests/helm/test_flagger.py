"""Progressive delivery on Flagger (canary.enabled): the Canary objects follow values.yaml,
and every MetricTemplate query is unit-tested with `promtool test rules` (as a recording
rule over synthetic series) on a value that passes its check and one that fails it."""

import copy
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from model_service.api.routes.predict import SYNTHETIC_HEADER

Manifest = dict[str, Any]
Render = Callable[[dict[str, Any]], list[Manifest]]
One = Callable[[list[Manifest], str, str], Manifest]
CANARY = {"canary": {"enabled": True, "notificationUrl": "http://notify.example/"}}
NAMESPACE = "phishline"
# Pod names as Kubernetes makes them: <deployment>-<replicaset hash>-<pod hash>.
MS_CANARY = 'namespace="phishline", pod="phishline-model-service-7d9f8b6c5-x2x7k"'
MS_PRIMARY = 'namespace="phishline", pod="phishline-model-service-primary-5d8f7c9b6-a1b2c"'
APP_CANARY = 'namespace="phishline", pod="phishline-app-v1-6c9d7f5b4-q8r9s", variant="v1"'
APP_PRIMARY = 'namespace="phishline", pod="phishline-app-v1-primary-59c8d7b6f-k2l3m", variant="v1"'


def counter(name: str, labels: str, values: str) -> dict[str, str]:
    return {"series": f"{name}{{{labels}}}", "values": values}


def histogram(name: str, labels: str, per_bucket: dict[str, int]) -> list[dict[str, str]]:
    """A histogram whose cumulative buckets grow by the given count every 15 s."""
    return [
        counter(f"{name}_bucket", f'{labels}, le="{le}"', f"0+{step}x40")
        for le, step in per_bucket.items()
    ]


INFERENCE = "phishline_model_inference_duration_seconds"
LATENCY = "phishline_app_request_duration_seconds"
PREDICTIONS = "phishline_model_predictions_total"
FEEDBACK = "phishline_app_feedback_total"
HTTP_MS = "phishline_model_http_requests_total"
HTTP_APP = "phishline_app_http_requests_total"
ERRORS_MS = "phishline_model_errors_total"
FAST = {"0.01": 150, "0.05": 150, "0.1": 150, "0.25": 150, "0.5": 150, "+Inf": 150}
SLOW = {"0.01": 0, "0.05": 0, "0.1": 0, "0.25": 0, "0.5": 150, "+Inf": 150}
APP_FAST = {"0.05": 0, "0.1": 150, "1.0": 150, "2.5": 150, "+Inf": 150}
APP_SLOW = {"0.05": 0, "0.1": 0, "1.0": 0, "2.5": 150, "+Inf": 150}

# Per MetricTemplate: (target, eval time, series, expected value) for a passing case and a
# failing one. Counters grow every 15 s ("0+150x40": 10/s for 10 min); the primary's
# series show that only the canary's pods are measured.
CASES: dict[str, dict[str, tuple[str, str, list[dict[str, str]], float]]] = {
    "model-error-rate": {
        "pass": (
            "phishline-model-service",
            "10m",
            [
                counter(
                    HTTP_MS,
                    f'{MS_CANARY}, route="/v1/predict", method="POST", status="200"',
                    "0+150x40",
                ),
                counter(
                    HTTP_MS,
                    f'{MS_CANARY}, route="/health/ready", method="GET", status="503"',
                    "0+150x40",
                ),
                counter(
                    ERRORS_MS, f'{MS_CANARY}, reason="invalid_url"', "0+30x40"
                ),  # the client's fault
                counter(
                    HTTP_MS,
                    f'{MS_PRIMARY}, route="/v1/predict", method="POST", status="500"',
                    "0+150x40",
                ),
                counter(ERRORS_MS, f'{MS_PRIMARY}, reason="internal"', "0+150x40"),
            ],
            0.0,
        ),
        "fail": (
            "phishline-model-service",
            "10m",
            [
                counter(
                    HTTP_MS,
                    f'{MS_CANARY}, route="/v1/predict", method="POST", status="200"',
                    "0+147x40",
                ),
                counter(
                    HTTP_MS,
                    f'{MS_CANARY}, route="/v1/predict", method="POST", status="500"',
                    "0+3x40",
                ),
                counter(ERRORS_MS, f'{MS_CANARY}, reason="internal"', "0+3x40"),
            ],
            2.0,
        ),
    },
    "inference-p99": {
        # All in the first bucket: p99 interpolates to 0.99 x 10 ms.
        "pass": (
            "phishline-model-service",
            "10m",
            histogram(INFERENCE, f'{MS_CANARY}, model="ensemble"', FAST)
            + histogram(INFERENCE, f'{MS_PRIMARY}, model="ensemble"', SLOW),
            9.9,
        ),
        # All in (250 ms, 500 ms]: 250 + 0.99 x 250.
        "fail": (
            "phishline-model-service",
            "10m",
            histogram(INFERENCE, f'{MS_CANARY}, model="ensemble"', SLOW)
            + histogram(INFERENCE, f'{MS_PRIMARY}, model="ensemble"', FAST),
            497.5,
        ),
    },
    "phishing-share-delta": {
        "pass": (
            "phishline-model-service",
            "10m",
            [
                counter(PREDICTIONS, f'{MS_CANARY}, model="ensemble", label="phishing"', "0+15x40"),
                counter(
                    PREDICTIONS, f'{MS_CANARY}, model="ensemble", label="legitimate"', "0+45x40"
                ),
                counter(
                    PREDICTIONS, f'{MS_PRIMARY}, model="ensemble", label="phishing"', "0+30x40"
                ),
                counter(
                    PREDICTIONS, f'{MS_PRIMARY}, model="ensemble", label="legitimate"', "0+90x40"
                ),
            ],
            0.0,
        ),  # 25 % on both
        "fail": (
            "phishline-model-service",
            "10m",
            [
                counter(PREDICTIONS, f'{MS_CANARY}, model="ensemble", label="phishing"', "0+30x40"),
                counter(
                    PREDICTIONS, f'{MS_CANARY}, model="ensemble", label="legitimate"', "0+30x40"
                ),
                counter(
                    PREDICTIONS, f'{MS_PRIMARY}, model="ensemble", label="phishing"', "0+30x40"
                ),
                counter(
                    PREDICTIONS, f'{MS_PRIMARY}, model="ensemble", label="legitimate"', "0+90x40"
                ),
            ],
            25.0,
        ),  # 50 % against 25 %
    },
    "feedback-yes-delta": {
        # One sample a minute for 130 min (see FEEDBACK_INTERVAL): 80 % yes all along.
        "pass": (
            "phishline-model-service",
            "130m",
            [
                counter(FEEDBACK, 'namespace="phishline", variant="v1", answer="yes"', "0+48x130"),
                counter(FEEDBACK, 'namespace="phishline", variant="v1", answer="no"', "0+12x130"),
            ],
            0.0,
        ),
        # The last 10 minutes at 50 %: 50 - 100 x 6060 / 7800 points.
        "fail": (
            "phishline-model-service",
            "130m",
            [
                counter(
                    FEEDBACK,
                    'namespace="phishline", variant="v1", answer="yes"',
                    "0+48x120 5790+30x9",
                ),
                counter(
                    FEEDBACK,
                    'namespace="phishline", variant="v1", answer="no"',
                    "0+12x120 1470+30x9",
                ),
            ],
            50 - 100 * 6060 / 7800,
        ),
        # No answers at all: nothing to judge, the check passes.
        "silent": (
            "phishline-model-service",
            "130m",
            [
                counter(FEEDBACK, 'namespace="elsewhere", variant="v1", answer="no"', "0+12x130"),
            ],
            0.0,
        ),
    },
    "app-error-rate": {
        "pass": (
            "phishline-app-v1",
            "10m",
            [
                counter(HTTP_APP, f'{APP_CANARY}, route="/", status="200"', "0+150x40"),
                counter(HTTP_APP, f'{APP_CANARY}, route="/metrics", status="500"', "0+150x40"),
                # The kubelet's probes are no user traffic, "not ready" answers included.
                counter(HTTP_APP, f'{APP_CANARY}, route="/health/ready", status="503"', "0+150x40"),
                counter(HTTP_APP, f'{APP_PRIMARY}, route="/", status="500"', "0+150x40"),
            ],
            0.0,
        ),
        "fail": (
            "phishline-app-v1",
            "10m",
            [
                counter(HTTP_APP, f'{APP_CANARY}, route="/", status="200"', "0+135x40"),
                counter(HTTP_APP, f'{APP_CANARY}, route="/api/predict", status="502"', "0+15x40"),
            ],
            10.0,
        ),
    },
    "app-latency-p99": {
        "pass": (
            "phishline-app-v1",
            "10m",
            histogram(LATENCY, f'{APP_CANARY}, route="/"', APP_FAST)
            + histogram(LATENCY, f'{APP_CANARY}, route="/health/ready"', APP_SLOW)
            + histogram(LATENCY, f'{APP_PRIMARY}, route="/"', APP_SLOW),
            99.5,
        ),
        "fail": (
            "phishline-app-v1",
            "10m",
            histogram(LATENCY, f'{APP_CANARY}, route="/"', APP_SLOW)
            + histogram(LATENCY, f'{APP_PRIMARY}, route="/"', APP_FAST),
            2485.0,
        ),
    },
}
# The feedback cases need a day's baseline: their samples are a minute apart.
FEEDBACK_INTERVAL = "1m"


@pytest.fixture(scope="module")
def canary_manifests(rendered: Render) -> list[Manifest]:
    return rendered(CANARY)


def analysis_checks(values: dict[str, Any], component: str) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in values["canary"][component]["analysis"]["metrics"]}


def test_the_model_service_canary_follows_values(
    canary_manifests: list[Manifest], one_object: One, chart_values: dict[str, Any]
) -> None:
    canary = one_object(canary_manifests, "Canary", "phishline-model-service")["spec"]
    analysis = chart_values["canary"]["modelService"]["analysis"]
    assert canary["provider"] == "istio"
    assert canary["targetRef"]["name"] == "phishline-model-service"
    assert canary["autoscalerRef"]["name"] == "phishline-model-service"
    for key in ("interval", "threshold", "stepWeight", "maxWeight"):
        assert canary["analysis"][key] == analysis[key]
    checks = {m["name"]: m for m in canary["analysis"]["metrics"]}
    assert list(checks) == [m["name"] for m in analysis["metrics"]]
    for name, expected in analysis_checks(chart_values, "modelService").items():
        assert checks[name]["thresholdRange"] == expected["thresholdRange"]
        assert checks[name]["interval"] == expected["interval"]
    # Flagger's own Istio checks have no template; every other check has its template.
    assert {n for n, c in checks.items() if "templateRef" not in c} == {
        "request-success-rate",
        "request-duration",
    }
    templates = {m["metadata"]["name"] for m in canary_manifests if m["kind"] == "MetricTemplate"}
    assert {c["templateRef"]["name"] for c in checks.values() if "templateRef" in c} <= templates


def test_the_model_service_canary_has_its_webhooks(
    canary_manifests: list[Manifest], one_object: One
) -> None:
    hooks = {
        h["name"]: h
        for h in one_object(canary_manifests, "Canary", "phishline-model-service")["spec"][
            "analysis"
        ]["webhooks"]
    }
    assert hooks["acceptance-test"]["type"] == "pre-rollout"
    assert hooks["acceptance-test"]["metadata"] == {
        "type": "helmv3",
        "cmd": "test phishline -n phishline --filter name=phishline-acceptance-test-canary --timeout 2m",
    }
    assert hooks["load-test"]["type"] == "rollout"
    load_test = hooks["load-test"]["metadata"]["cmd"]
    assert "http://phishline-model-service.phishline:8081/v1/predict" in load_test
    # Test traffic, kept out of the primary's input-drift window.
    assert f"-H '{SYNTHETIC_HEADER}: load-test'" in load_test
    assert hooks["manual-rollback"]["type"] == "rollback"
    assert hooks["manual-rollback"]["url"].endswith("/rollback/check")
    assert hooks["notify"] == {
        "name": "notify",
        "type": "post-rollout",
        "url": "http://notify.example/",
        "timeout": "5s",
    }


def helm_test_jobs(manifests: list[Manifest]) -> dict[str, str]:
    """The `helm test` Jobs: name -> the model-service URL each one checks."""
    jobs = {}
    for job in (m for m in manifests if m["kind"] == "Job"):
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "test"
        command = job["spec"]["template"]["spec"]["containers"][0]["command"]
        (url,) = [a.removeprefix("--base-url=") for a in command if a.startswith("--base-url=")]
        jobs[job["metadata"]["name"]] = url
    return jobs


def test_helm_test_checks_what_serves_users(
    canary_manifests: list[Manifest], defaults: list[Manifest]
) -> None:
    """`helm test` calls the Service the app calls, with or without Flagger. Under Flagger
    that is the apex Service, which Flagger points at the primary. It used to call the
    -canary Service, which has no endpoint outside an analysis (Flagger scales the canary to
    zero): `helm test` failed after every promotion and every rollback."""
    users = "http://phishline-model-service:8081"
    assert helm_test_jobs(defaults) == {"phishline-acceptance-test": users}
    assert helm_test_jobs(canary_manifests)["phishline-acceptance-test"] == users


def test_flaggers_pre_rollout_test_checks_the_canary(
    canary_manifests: list[Manifest], one_object: One
) -> None:
    """Before the canary gets traffic, Flagger's webhook runs only the Job that calls it."""
    assert helm_test_jobs(canary_manifests) == {
        "phishline-acceptance-test": "http://phishline-model-service:8081",
        "phishline-acceptance-test-canary": "http://phishline-model-service-canary:8081",
    }
    webhooks = one_object(canary_manifests, "Canary", "phishline-model-service")["spec"][
        "analysis"
    ]["webhooks"]
    (pre_rollout,) = [w for w in webhooks if w["type"] == "pre-rollout"]
    assert "--filter name=phishline-acceptance-test-canary " in pre_rollout["metadata"]["cmd"]


@pytest.mark.parametrize("release", ["phishline", "demo"])
@pytest.mark.parametrize("canary", [True, False])
def test_the_notes_check_the_release_with_a_test_that_can_pass(
    chart_dir: Path, release: str, canary: bool
) -> None:
    """NOTES.txt's `helm test` leaves out the -canary Job (outside an analysis it fails),
    with a filter that names the Job on what serves users whatever the release's name."""
    with helm.Chart.load(chart_dir) as chart:
        files = chart.render({"canary": {"enabled": canary}}, name=release, namespace="staging")
    jobs = helm_test_jobs(
        [
            d
            for d in yaml.safe_load_all(files["phishline/templates/tests/acceptance-test.yaml"])
            if d
        ]
    )
    (command,) = re.findall(r"helm test .*", files["phishline/templates/NOTES.txt"])
    if canary:
        (users,) = [name for name, url in jobs.items() if not url.endswith("-canary:8081")]
        assert command == f"helm test {release} -n staging --filter name={users}"
    else:
        assert len(jobs) == 1
        assert command == f"helm test {release} -n staging"


def test_the_app_is_blue_green_and_switchable(
    canary_manifests: list[Manifest],
    rendered: Render,
    one_object: One,
    chart_values: dict[str, Any],
    find_objects: Callable[..., list[Manifest]],
) -> None:
    analysis = chart_values["canary"]["app"]["analysis"]
    for variant in ("v1", "v2"):
        spec = one_object(canary_manifests, "Canary", f"phishline-app-{variant}")["spec"]
        assert spec["provider"] == "kubernetes"  # no traffic shifting: the A/B routing stays
        assert spec["analysis"]["iterations"] == analysis["iterations"]
        assert "stepWeight" not in spec["analysis"]
        assert all("templateRef" in m for m in spec["analysis"]["metrics"])
        # Flagger owns the variant's Service: the chart renders none; routing uses it.
        assert not find_objects(canary_manifests, "Service", f"phishline-app-{variant}")
    routes = one_object(canary_manifests, "VirtualService", "phishline-app")["spec"]["http"]
    assert {d["destination"]["host"] for r in routes for d in r["route"]} == {
        "phishline-app-v1",
        "phishline-app-v2",
    }
    rolling = rendered({"canary": {"enabled": True, "app": {"blueGreen": False}}})
    assert {c["metadata"]["name"] for c in find_objects(rolling, "Canary")} == {
        "phishline-model-service"
    }
    assert find_objects(rolling, "Service", "phishline-app-v1")


def test_flagger_owns_model_service_routing(
    canary_manifests: list[Manifest], find_objects: Callable[..., list[Manifest]]
) -> None:
    assert not find_objects(canary_manifests, "Service", "phishline-model-service")
    assert not find_objects(canary_manifests, "VirtualService", "phishline-model-service")
    assert not find_objects(canary_manifests, "DestinationRule", "phishline-model-service")
    budget = find_objects(canary_manifests, "PodDisruptionBudget", "phishline-model-service")[0]
    assert budget["spec"]["selector"]["matchLabels"] == {"app": "phishline-model-service-primary"}


def test_a_builtin_check_is_refused_for_the_app(
    rendered: Render, chart_values: dict[str, Any]
) -> None:
    import helm_python

    metrics = [
        *chart_values["canary"]["app"]["analysis"]["metrics"],
        {"name": "request-duration", "thresholdRange": {"max": 500}, "interval": "1m"},
    ]
    with pytest.raises(helm_python.HelmRenderError, match="mesh check"):
        rendered({"canary": {"enabled": True, "app": {"analysis": {"metrics": metrics}}}})


def test_metric_templates_use_only_exported_metrics(canary_manifests: list[Manifest]) -> None:
    """docs/metrics.md: Flagger's templates use only the names the code exports."""
    from model_service.core.metrics import ServiceMetrics
    from phishline_app.core.metrics import AppMetrics

    suffixes = {
        "counter": ("_total",),
        "gauge": ("",),
        "histogram": ("_bucket", "_count", "_sum"),
        "summary": ("_count", "_sum"),
    }
    registries = (ServiceMetrics().registry, AppMetrics(variant="v1", version="0").registry)
    exported = {f.name + s for r in registries for f in r.collect() for s in suffixes[f.type]}
    documented = re.findall(
        r"`(phishline_[a-z_]+)`",
        (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8"),
    )
    templates = [m for m in canary_manifests if m["kind"] == "MetricTemplate"]
    assert templates
    for template in templates:
        used = set(re.findall(r"\b(phishline_\w+?)\{", template["spec"]["query"]))
        assert used, template["metadata"]["name"]
        assert used <= exported, used - exported
        assert all(any(name.startswith(d) for d in documented) for name in used)


def flagger_query(template: Manifest, target: str, interval: str) -> str:
    """The query as Flagger sends it: its template variables filled in."""
    query = template["spec"]["query"]
    for variable, value in (("namespace", NAMESPACE), ("target", target), ("interval", interval)):
        query = query.replace("{{ " + variable + " }}", value)
    assert "{{" not in query, query
    return query


def promtool_files(
    canary_manifests: list[Manifest],
    chart_values: dict[str, Any],
    tmp_path: Path,
    only: str | None = None,
) -> Path:
    """A rules file recording each MetricTemplate's query (and the canary alert) and its
    tests; `only` keeps the cases of one template."""
    checks = analysis_checks(chart_values, "modelService") | analysis_checks(chart_values, "app")
    templates = {
        m["metadata"]["name"].removeprefix("phishline-"): m
        for m in canary_manifests
        if m["kind"] == "MetricTemplate"
    }
    assert set(templates) == set(CASES)
    rules, tests = [], []
    for name, cases in CASES.items():
        if only not in (None, name):
            continue
        record = f"flagger:{name.replace('-', '_')}"
        rules.append(
            {
                "record": record,
                "expr": flagger_query(templates[name], cases["pass"][0], checks[name]["interval"]),
            }
        )
        for case, (_, eval_time, series, expected) in cases.items():
            tests.append(
                {
                    "name": f"{name}: {case}",
                    "interval": FEEDBACK_INTERVAL if name == "feedback-yes-delta" else "15s",
                    "input_series": series,
                    "promql_expr_test": [
                        {
                            "expr": record,
                            "eval_time": eval_time,
                            "exp_samples": [{"labels": record, "value": expected}],
                        }
                    ],
                }
            )
    canary_rule = next(
        m
        for m in canary_manifests
        if m["kind"] == "PrometheusRule" and m["metadata"]["name"] == "phishline-canary"
    )
    (tmp_path / "rules.yml").write_text(
        yaml.safe_dump(
            {"groups": [{"name": "flagger", "rules": rules}, *canary_rule["spec"]["groups"]]}
        )
    )
    if only is None:
        tests += [CANARY_ALERT_TEST, CANARY_ALERT_HONORING_LABELS_TEST]
    path = tmp_path / "tests.yml"
    path.write_text(
        yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "15s", "tests": tests})
    )
    return path


# Flagger's series as Prometheus stores them when it scrapes Flagger's pod (in namespace
# flagger) without honorLabels: the canary's own namespace label becomes exported_namespace.
def rolled_back_alert(canary: str) -> list[dict[str, Any]]:
    """promtool's expectations: no alert at first, then one mail for `canary` alone."""
    return [
        {"eval_time": "1m", "alertname": "PhishlineCanaryRolledBack", "exp_alerts": []},
        {
            "eval_time": "5m",
            "alertname": "PhishlineCanaryRolledBack",
            "exp_alerts": [
                {
                    "exp_labels": {
                        "name": canary,
                        "namespace": NAMESPACE,
                        "severity": "warning",
                        "component": "canary",
                    },
                    "exp_annotations": {
                        "summary": f"canary {canary} was rolled back",
                        "description": "Flagger's analysis of the new version failed and every request is back on the primary. `kubectl -n phishline describe canary` says which check failed.",
                    },
                }
            ],
        },
    ]


FLAGGER_STATUS = 'flagger_canary_status{{name="{}", namespace="flagger", exported_namespace="{}"}}'
CANARY_ALERT_TEST = {
    "name": "a rolled back canary of this release mails; a succeeded one, another release's "
    "or the same release's in another namespace does not",
    "interval": "15s",
    "input_series": [
        {
            "series": FLAGGER_STATUS.format("phishline-model-service", NAMESPACE),
            "values": "1x8 2x20",
        },
        {"series": FLAGGER_STATUS.format("other-model-service", NAMESPACE), "values": "2x28"},
        # A staging release of the same name: its canaries have the same names.
        {
            "series": FLAGGER_STATUS.format("phishline-model-service", "phishline-staging"),
            "values": "2x28",
        },
    ],
    "alert_rule_test": rolled_back_alert("phishline-model-service"),
}


# Scraped with honorLabels, the series keep Flagger's own namespace label.
CANARY_ALERT_HONORING_LABELS_TEST = {
    "name": "scraped with honorLabels, only this namespace's rolled back canary mails",
    "interval": "15s",
    "input_series": [
        {
            "series": f'flagger_canary_status{{name="phishline-app-v1", namespace="{NAMESPACE}"}}',
            "values": "1x8 2x20",
        },
        {
            "series": 'flagger_canary_status{name="phishline-app-v2", namespace="phishline-staging"}',
            "values": "2x28",
        },
    ],
    "alert_rule_test": rolled_back_alert("phishline-app-v1"),
}


def run_promtool(promtool: str, tests: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, "test", "rules", str(tests)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tests.parent,
    )


def test_every_metric_template_passes_and_fails_as_promtool_computes(
    promtool: str, canary_manifests: list[Manifest], chart_values: dict[str, Any], tmp_path: Path
) -> None:
    result = run_promtool(promtool, promtool_files(canary_manifests, chart_values, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_expected_values_straddle_the_thresholds(chart_values: dict[str, Any]) -> None:
    checks = analysis_checks(chart_values, "modelService") | analysis_checks(chart_values, "app")
    for name, cases in CASES.items():
        bounds = checks[name]["thresholdRange"]
        for case, (*_, value) in cases.items():
            within = bounds.get("min", float("-inf")) <= value <= bounds.get("max", float("inf"))
            assert within == (case != "fail"), f"{name} {case}: {value} against {bounds}"


def test_promtool_catches_a_wrong_query(
    promtool: str, canary_manifests: list[Manifest], chart_values: dict[str, Any], tmp_path: Path
) -> None:
    broken = copy.deepcopy(canary_manifests)
    template = next(
        m
        for m in broken
        if m["kind"] == "MetricTemplate" and m["metadata"]["name"].endswith("-model-error-rate")
    )
    # Selecting the primary's pods instead of the canary's.
    template["spec"]["query"] = template["spec"]["query"].replace(
        "{{ target }}-[", "{{ target }}-primary-["
    )
    result = run_promtool(
        promtool, promtool_files(broken, chart_values, tmp_path, only="model-error-rate")
    )
    assert result.returncode != 0
    assert 'expr: "flagger:model_error_rate"' in result.stdout + result.stderr


def test_the_replay_reads_the_analysis_the_canaries_run(
    canary_manifests: list[Manifest], one_object: One, chart_values: dict[str, Any]
) -> None:
    """`phishline canary replay` tunes the very values the chart renders."""
    from phishline.canary import analysis_from_values

    for target, name in (("model-service", "phishline-model-service"), ("app", "phishline-app-v1")):
        analysis = analysis_from_values(chart_values, target)
        spec = one_object(canary_manifests, "Canary", name)["spec"]["analysis"]
        assert (analysis.interval, analysis.threshold) == (spec["interval"], spec["threshold"])
        assert (analysis.step_weight, analysis.max_weight, analysis.iterations) == (
            spec.get("stepWeight", 0),
            spec.get("maxWeight", 0),
            spec.get("iterations", 0),
        )
        assert [(c.name, c.minimum, c.maximum) for c in analysis.checks] == [
            (m["name"], m["thresholdRange"].get("min"), m["thresholdRange"].get("max"))
            for m in spec["metrics"]
        ]
