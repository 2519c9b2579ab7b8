"""The chart lints clean (strict) and every object it renders is valid for its API:
Kubernetes kinds by kubernetes-validate --strict, Istio and Prometheus Operator kinds by
their typed models, Flagger kinds by JSON schemas transcribed from Flagger's CRDs."""

import copy
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pydantic
import pytest
import yaml
from cloudcoil.models.istio.networking import v1 as istio_v1
from cloudcoil.models.istio.networking import v1alpha3 as istio_v1alpha3
from cloudcoil.models.prometheus_operator import v1 as monitoring_v1
from cloudcoil.models.prometheus_operator import v1alpha1 as monitoring_v1alpha1

Manifest = dict[str, Any]

# The Kubernetes version the chart is checked against (a version kubernetes-validate ships
# schemas for; Chart.yaml asks for >= 1.30).
KUBERNETES_VERSION = "1.33.0"
CORE_GROUPS = {"v1", "apps/v1", "batch/v1", "autoscaling/v2", "policy/v1"}
CORE_GROUPS |= {"networking.k8s.io/v1", "rbac.authorization.k8s.io/v1"}
TYPED_MODELS: dict[tuple[str, str], type[pydantic.BaseModel]] = {
    **{
        ("networking.istio.io/v1", kind): getattr(istio_v1, kind)
        for kind in ("VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar")
    },
    ("networking.istio.io/v1alpha3", "EnvoyFilter"): istio_v1alpha3.EnvoyFilter,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): monitoring_v1.ServiceMonitor,
    ("monitoring.coreos.com/v1", "PrometheusRule"): monitoring_v1.PrometheusRule,
    (
        "monitoring.coreos.com/v1alpha1",
        "AlertmanagerConfig",
    ): monitoring_v1alpha1.AlertmanagerConfig,
}
SCHEMAS = Path(__file__).parent / "schemas"
FLAGGER_SCHEMAS = {
    ("flagger.app/v1beta1", "Canary"): SCHEMAS / "canary.schema.json",
    ("flagger.app/v1beta1", "MetricTemplate"): SCHEMAS / "metrictemplate.schema.json",
}


def validate_core(manifest: Manifest) -> None:
    _validate_core_once(json.dumps(manifest, sort_keys=True))


@cache
def _validate_core_once(manifest: str) -> None:
    """The scenarios render many identical objects: each distinct one is validated once."""
    kubernetes_validate.validate(json.loads(manifest), KUBERNETES_VERSION, strict=True)


def validate_typed(manifest: Manifest) -> None:
    """Parse with the typed model; a field the model does not know is dropped by the parse,
    so the round trip must give the object back unchanged."""
    model = TYPED_MODELS[manifest["apiVersion"], manifest["kind"]]
    parsed = model.model_validate(manifest)
    round_trip = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert round_trip == json.loads(json.dumps(manifest)), (
        f"{manifest['kind']} {manifest['metadata']['name']}: fields unknown to the API"
    )


@cache
def _flagger_validator(path: Path) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def validate_flagger(manifest: Manifest) -> None:
    schema = FLAGGER_SCHEMAS[manifest["apiVersion"], manifest["kind"]]
    _flagger_validator(schema).validate(manifest)


def validate(manifest: Manifest) -> None:
    key = (manifest["apiVersion"], manifest["kind"])
    if manifest["apiVersion"] in CORE_GROUPS:
        validate_core(manifest)
    elif key in TYPED_MODELS:
        validate_typed(manifest)
    elif key in FLAGGER_SCHEMAS:
        validate_flagger(manifest)
    else:
        pytest.fail(f"no validator for {key}: add one before rendering this kind")


def test_lint_is_clean_in_strict_mode(chart_dir: Path, scenario_values: dict[str, Any]) -> None:
    report = helm.lint(chart_dir, scenario_values, strict=True, namespace="phishline")
    assert report["errors"] == []
    assert report["messages"] == []


def test_every_rendered_object_is_valid(manifests: list[Manifest]) -> None:
    assert manifests
    for manifest in manifests:
        validate(manifest)


def test_every_object_is_namespaced_to_the_release(manifests: list[Manifest]) -> None:
    # checkov's "default namespace" check, and `helm template | kubectl apply` safety.
    assert {m["metadata"].get("namespace") for m in manifests} == {"phishline"}


def test_lint_fails_on_a_broken_template(chart_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "phishline"
    with helm.Chart.load(chart_dir) as chart:
        chart.save_dir(tmp_path)
    assert helm.lint(broken, strict=True)["messages"] == []
    (broken / "templates" / "broken.yaml").write_text("kind: {{ .Values.nope.missing }}\n")
    report = helm.lint(broken, strict=True)
    assert any("nil pointer" in m["error"] for m in report["messages"]), report


def test_a_render_error_stops_impossible_values(
    rendered: Callable[[dict[str, Any]], list[Manifest]],
) -> None:
    with pytest.raises(helm.HelmRenderError, match="sum to 100"):
        rendered({"istio": {"weights": {"v1": 90, "v2": 20}}})
    with pytest.raises(helm.HelmRenderError, match=r"needs istio\.enabled"):
        rendered({"istio": {"enabled": False}, "modelService": {"shadow": {"enabled": True}}})
    with pytest.raises(helm.HelmRenderError, match="exclude each other"):
        rendered({"canary": {"enabled": True}, "modelService": {"shadow": {"enabled": True}}})
    # Flagger's model-service canary is an Istio canary: its routing, its mesh checks
    # (request-success-rate, request-duration) and its Service options need the mesh.
    with pytest.raises(helm.HelmRenderError, match=r"canary\.enabled needs istio\.enabled"):
        rendered(
            {"istio": {"enabled": False}, "ingress": {"enabled": True}, "canary": {"enabled": True}}
        )


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        (
            {"modelService": {"replicas": 1, "autoscaling": {"enabled": False}}},
            "modelService.podDisruptionBudget.minAvailable (1) must be below "
            "modelService.replicas (1)",
        ),
        (
            {"app": {"replicas": {"v1": 2, "v2": 1}, "autoscaling": {"enabled": False}}},
            "app.podDisruptionBudget.minAvailable (1) must be below app.replicas.v2 (1)",
        ),
        (
            {"app": {"autoscaling": {"minReplicas": 1}}},
            "app.podDisruptionBudget.minAvailable (1) must be below app.autoscaling.minReplicas (1)",
        ),
    ],
    ids=["model-service replicas", "one app variant", "autoscaling minimum"],
)
def test_a_disruption_budget_that_blocks_every_drain_is_refused(
    rendered: Callable[[dict[str, Any]], list[Manifest]], values: dict[str, Any], complaint: str
) -> None:
    """minAvailable at or above the pods a workload may run with leaves no eviction allowed:
    `kubectl drain` would wait forever on that node."""
    with pytest.raises(helm.HelmRenderError, match=re.escape(complaint)):
        rendered(values)
    single = {
        "modelService": {
            "replicas": 1,
            "autoscaling": {"enabled": False},
            "podDisruptionBudget": {"minAvailable": 0},
        }
    }
    budget = next(
        m
        for m in rendered(single)
        if m["kind"] == "PodDisruptionBudget" and m["metadata"]["name"] == "phishline-model-service"
    )
    assert budget["spec"]["minAvailable"] == 0


def test_an_autoscaler_with_its_minimum_above_its_maximum_is_refused(
    rendered: Callable[[dict[str, Any]], list[Manifest]],
) -> None:
    """The API server rejects such an HPA (spec.maxReplicas must be >= minReplicas) only at
    install, after the other objects went in; offline schemas do not catch it."""
    with pytest.raises(
        helm.HelmRenderError,
        match=re.escape(
            "modelService.autoscaling.minReplicas (8) must not exceed "
            "modelService.autoscaling.maxReplicas (6)"
        ),
    ):
        rendered({"modelService": {"autoscaling": {"minReplicas": 8}}})
    with pytest.raises(
        helm.HelmRenderError,
        match=re.escape(
            "app.autoscaling.minReplicas (3) must not exceed app.autoscaling.maxReplicas (2)"
        ),
    ):
        rendered({"app": {"autoscaling": {"minReplicas": 3, "maxReplicas": 2}}})
    # Without autoscaling there is no HPA, and nothing to refuse.
    off = rendered({"app": {"autoscaling": {"enabled": False, "minReplicas": 3, "maxReplicas": 2}}})
    assert not [
        m
        for m in off
        if m["kind"] == "HorizontalPodAutoscaler"
        and m["metadata"]["name"].startswith("phishline-app")
    ]


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        (
            {"app": {"preStopSleepSeconds": 40}},
            "app.preStopSleepSeconds (40) must be below app.terminationGracePeriodSeconds (30)",
        ),
        (
            {"app": {"preStopSleepSeconds": 10, "terminationGracePeriodSeconds": 10}},
            "app.preStopSleepSeconds (10) must be below app.terminationGracePeriodSeconds (10)",
        ),
        ({"app": {"preStopSleepSeconds": 0}}, "at '/app/preStopSleepSeconds': minimum"),
        (
            {"modelService": {"preStopSleepSeconds": 0}},
            "at '/modelService/preStopSleepSeconds': minimum",
        ),
    ],
    ids=["app sleep over the grace period", "app sleep as long", "app no sleep", "model no sleep"],
)
def test_a_pre_stop_sleep_the_api_server_refuses_is_refused(
    rendered: Callable[[dict[str, Any]], list[Manifest]], values: dict[str, Any], complaint: str
) -> None:
    """The API server refuses a preStop sleep longer than the pod's grace period, or (before
    Kubernetes 1.33) of 0 seconds, only at install; one as long as the grace period has the
    pod killed as its sleep ends, before it finishes a request."""
    with pytest.raises(helm.HelmError, match=re.escape(complaint)):
        rendered(values)


def _altered(manifests: list[Manifest], kind: str, change: Callable[[Manifest], None]) -> Manifest:
    manifest = copy.deepcopy(next(m for m in manifests if m["kind"] == kind))
    change(manifest)
    return manifest


def test_each_validator_rejects_a_misspelt_field(
    defaults: list[Manifest], rendered: Callable[[dict[str, Any]], list[Manifest]]
) -> None:
    canary = rendered({"canary": {"enabled": True}})
    broken = [
        _altered(defaults, "Deployment", lambda m: m["spec"].update(replica=2)),
        _altered(
            defaults,
            "VirtualService",
            lambda m: m["spec"]["http"][0].update(mirrorPercantage={"value": 5}),
        ),
        _altered(
            defaults, "ServiceMonitor", lambda m: m["spec"]["endpoints"][0].update(intervall="1m")
        ),
        _altered(canary, "Canary", lambda m: m["spec"]["analysis"].update(stepWeigth=5)),
    ]
    for manifest in broken:
        with pytest.raises(
            (kubernetes_validate.ValidationError, AssertionError, jsonschema.ValidationError)
        ):
            validate(manifest)


def test_each_validator_rejects_a_wrong_type(defaults: list[Manifest]) -> None:
    broken = [
        _altered(defaults, "Service", lambda m: m["spec"]["ports"][0].update(port="eighty")),
        _altered(
            defaults,
            "EnvoyFilter",
            lambda m: m["spec"]["configPatches"][0].update(applyTo="FILTER"),
        ),
        _altered(
            defaults, "AlertmanagerConfig", lambda m: m["spec"]["route"].update(groupBy="alertname")
        ),
    ]
    for manifest in broken:
        with pytest.raises((kubernetes_validate.ValidationError, pydantic.ValidationError)):
            validate(manifest)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"istio": {"weigths": {"v1": 50}}}, "additional properties 'weigths'"),
        ({"modelService": {"shadow": {"percentage": 150}}}, "maximum: got 150"),
        (
            {"acceptance": {"cases": [{"url": "https://a.example", "label": "spam"}]}},
            "must be one of",
        ),
        ({"canary": {"modelService": {"analysis": {"interval": "1 minute"}}}}, "does not match"),
    ],
)
def test_the_values_schema_refuses_bad_values(
    rendered: Callable[[dict[str, Any]], list[Manifest]], values: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(helm.HelmError, match=re.escape(complaint)):
        rendered(values)


def _app_resources(memory: Any, cpu: Any = "100m") -> dict[str, Any]:
    return {
        "app": {
            "resources": {
                "requests": {"cpu": cpu, "memory": memory},
                "limits": {"cpu": "500m", "memory": "384Mi"},
            }
        }
    }


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        (_app_resources("512MB"), "at '/app/resources/requests/memory'"),
        (_app_resources("1K"), "at '/app/resources/requests/memory'"),
        (_app_resources("256 Mi"), "at '/app/resources/requests/memory'"),
        (_app_resources("192Mi", cpu="-1"), "at '/app/resources/requests/cpu'"),
        (_app_resources("192Mi", cpu=-0.5), "at '/app/resources/requests/cpu'"),
        (_app_resources("192Mi", cpu="half"), "at '/app/resources/requests/cpu'"),
    ],
    ids=["MB", "K", "space", "negative string", "negative number", "word"],
)
def test_a_quantity_kubernetes_cannot_parse_is_refused(
    rendered: Callable[[dict[str, Any]], list[Manifest]], values: dict[str, Any], complaint: str
) -> None:
    """The API server refuses a quantity outside its grammar (number, then one of n u m k M G
    T P E, Ki ... Ei or an exponent) or below 0 only at install; the offline schemas take
    any string."""
    with pytest.raises(helm.HelmValuesError, match=re.escape(complaint)):
        rendered(values)


@pytest.mark.parametrize(
    ("memory", "cpu"),
    [("512Mi", "250m"), ("1.5Gi", 0.5), ("512M", 1), ("1e9", "1.5"), ("268435456", ".5")],
)
def test_every_quantity_kubernetes_parses_is_taken(
    rendered: Callable[[dict[str, Any]], list[Manifest]], memory: str, cpu: Any
) -> None:
    deployment = next(
        m
        for m in rendered(_app_resources(memory, cpu))
        if m["kind"] == "Deployment" and m["metadata"]["name"] == "phishline-app-v1"
    )
    requests = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    assert requests == {"cpu": cpu, "memory": memory}


@pytest.mark.parametrize(
    "host",
    ["https://phishline.example.com", "phishline.example.com:443", "Phishline.example.com", ""],
)
def test_a_host_that_is_no_dns_name_is_refused(
    rendered: Callable[[dict[str, Any]], list[Manifest]], host: str
) -> None:
    """A URL or a host with its port is refused by the API server (Ingress: a lower-case DNS
    name) and by Istio's validation (Gateway and VirtualService hosts) only at install."""
    with pytest.raises(helm.HelmValuesError, match=re.escape("at '/ingress/host'")):
        rendered({"ingress": {"enabled": True, "host": host}})
    with pytest.raises(helm.HelmValuesError, match=re.escape("at '/istio/gateway/hosts/1'")):
        rendered({"istio": {"gateway": {"hosts": ["phishline.example.com", host]}}})


@pytest.mark.parametrize("host", ["phishline.example.com", "*.example.org", "ab-1.example"])
def test_dns_names_and_wildcards_are_taken_as_hosts(
    rendered: Callable[[dict[str, Any]], list[Manifest]], host: str
) -> None:
    manifests = rendered(
        {"ingress": {"enabled": True, "host": host}, "istio": {"gateway": {"hosts": [host]}}}
    )
    ingress = next(m for m in manifests if m["kind"] == "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == host
    gateway = next(m for m in manifests if m["kind"] == "Gateway")
    assert gateway["spec"]["servers"][0]["hosts"] == [host]
    # Any host at all: Istio takes "*", an Ingress host cannot be it.
    gateway = next(
        m for m in rendered({"istio": {"gateway": {"hosts": ["*"]}}}) if m["kind"] == "Gateway"
    )
    assert gateway["spec"]["servers"][0]["hosts"] == ["*"]


# A release name longer than fullname's cut: the longest prefix any object gets.
LONGEST_RELEASE = "phishline-production-europe-west-blue-01"


@pytest.mark.parametrize("scenario_name", ["shadow", "canary"])
def test_names_at_the_longest_release_name_stay_within_63_characters(
    chart_dir: Path, scenarios: dict[str, dict[str, Any]], scenario_name: str
) -> None:
    """Label values and Service and Job names are DNS labels: the API server refuses one over
    63 characters. Every Deployment's name is its pods' `app` label, and Flagger names its
    Services after a Canary's target plus -primary or -canary."""
    with helm.Chart.load(chart_dir) as chart:
        files = chart.render(scenarios[scenario_name], name=LONGEST_RELEASE, namespace="phishline")
    too_long = []
    for path, text in files.items():
        if path.endswith("NOTES.txt"):
            continue
        for manifest in yaml.safe_load_all(text):
            if not manifest:
                continue
            template = manifest.get("spec", {}).get("template", {}).get("metadata", {})
            labels = manifest["metadata"].get("labels", {}) | template.get("labels", {})
            names = [manifest["metadata"]["name"]]
            if manifest["kind"] == "Canary":
                names += [
                    f"{manifest['spec']['targetRef']['name']}-{s}" for s in ("primary", "canary")
                ]
            too_long += [
                f"{manifest['kind']} label {k}={v}" for k, v in labels.items() if len(str(v)) > 63
            ]
            too_long += [f"{manifest['kind']} name {n}" for n in names if len(n) > 63]
    assert too_long == []
