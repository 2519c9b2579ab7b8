"""What the mesh does with a request, read off the rendered Istio objects: sticky A/B routing
at the gateway, the shadow model, and the app's local rate limit."""

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import helm_python as helm
import pytest
from google.protobuf import duration_pb2

Manifest = dict[str, Any]
Render = Callable[[dict[str, Any]], list[Manifest]]
One = Callable[[list[Manifest], str, str], Manifest]


def route_for(virtual_service: Manifest, cookie: str | None) -> dict[str, Any]:
    """The first HTTP route whose matches accept a request with this Cookie header, as
    Istio picks it (in order; a route without `match` accepts everything). Header regexes are
    RE2 and must match the whole value."""
    for route in virtual_service["spec"]["http"]:
        matches = route.get("match")
        if matches is None:
            return route
        for match in matches:
            pattern = match["headers"]["cookie"]["regex"]
            if cookie is not None and re.fullmatch(pattern, cookie):
                return route
    raise AssertionError(f"no route for cookie {cookie!r}")


def subsets(route: dict[str, Any]) -> dict[str, int]:
    return {d["destination"]["subset"]: d.get("weight", 100) for d in route["route"]}


@pytest.fixture(scope="module")
def app_routes(defaults: list[Manifest], one_object: One) -> Manifest:
    return one_object(defaults, "VirtualService", "phishline-app")


@pytest.mark.parametrize(
    ("cookie", "subset"),
    [
        ("phishline-variant=v1", "v1"),
        ("phishline-variant=v2", "v2"),
        ("phishline-user=Zm9vYmFyYmF6cXV4eHl6; phishline-variant=v2", "v2"),
        ("phishline-variant=v1; phishline-user=Zm9vYmFyYmF6cXV4eHl6", "v1"),
        ("theme=dark;phishline-variant=v2;lang=en", "v2"),
    ],
)
def test_a_returning_user_stays_on_the_cookie_variant(
    app_routes: Manifest, cookie: str, subset: str
) -> None:
    assert subsets(route_for(app_routes, cookie)) == {subset: 100}


@pytest.mark.parametrize(
    "cookie",
    [None, "phishline-user=Zm9vYmFyYmF6cXV4eHl6", "phishline-variant=v3", "xphishline-variant=v2"],
)
def test_a_new_user_gets_the_weighted_split(app_routes: Manifest, cookie: str | None) -> None:
    assert subsets(route_for(app_routes, cookie)) == {"v1": 90, "v2": 10}


def test_cookie_routes_come_before_the_weighted_route(app_routes: Manifest) -> None:
    routes = app_routes["spec"]["http"]
    weighted = [i for i, r in enumerate(routes) if len(r["route"]) > 1]
    sticky = [i for i, r in enumerate(routes) if "match" in r]
    assert weighted == [len(routes) - 1]
    assert sorted(sticky) == list(range(len(routes) - 1))
    assert {next(iter(subsets(routes[i]))) for i in sticky} == {"v1", "v2"}


def test_the_weights_follow_values_and_sum_to_100(rendered: Render, one_object: One) -> None:
    routes = one_object(
        rendered({"istio": {"weights": {"v1": 50, "v2": 50}}}), "VirtualService", "phishline-app"
    )
    weights = subsets(route_for(routes, None))
    assert weights == {"v1": 50, "v2": 50}
    assert sum(weights.values()) == 100


def test_the_subsets_select_each_variants_pods(defaults: list[Manifest], one_object: One) -> None:
    rule = one_object(defaults, "DestinationRule", "phishline-app")
    pod_labels = {
        variant: one_object(defaults, "Deployment", f"phishline-app-{variant}")["spec"]["template"][
            "metadata"
        ]["labels"]
        for variant in ("v1", "v2")
    }
    assert sorted(subset["name"] for subset in rule["spec"]["subsets"]) == ["v1", "v2"]
    for subset in rule["spec"]["subsets"]:
        other = "v2" if subset["name"] == "v1" else "v1"
        assert subset["labels"].items() <= pod_labels[subset["name"]].items()
        # A subset that also selects the other variant's pods would split a sticky user.
        assert not subset["labels"].items() <= pod_labels[other].items()
    service = one_object(defaults, "Service", "phishline-app")
    for variant in ("v1", "v2"):
        labels = one_object(defaults, "Deployment", f"phishline-app-{variant}")["spec"]["template"][
            "metadata"
        ]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()


def test_the_shadow_mirrors_the_configured_share_to_the_candidate(
    rendered: Render, one_object: One
) -> None:
    manifests = rendered({"modelService": {"shadow": {"enabled": True, "percentage": 25}}})
    routes = one_object(manifests, "VirtualService", "phishline-model-service")["spec"]["http"]
    assert len(routes) == 1
    assert subsets(routes[0]) == {"stable": 100}
    assert routes[0]["mirror"]["subset"] == "candidate"
    assert routes[0]["mirror"]["host"] == "phishline-model-service"
    assert routes[0]["mirrorPercentage"] == {"value": 25}
    rule = one_object(manifests, "DestinationRule", "phishline-model-service")
    candidate = next(s for s in rule["spec"]["subsets"] if s["name"] == "candidate")
    pods = one_object(manifests, "Deployment", "phishline-model-service-candidate")
    assert candidate["labels"].items() <= pods["spec"]["template"]["metadata"]["labels"].items()
    stable = one_object(manifests, "Deployment", "phishline-model-service")
    assert (
        not candidate["labels"].items() <= stable["spec"]["template"]["metadata"]["labels"].items()
    )


def test_without_shadow_nothing_is_mirrored(defaults: list[Manifest], one_object: One) -> None:
    routes = one_object(defaults, "VirtualService", "phishline-model-service")["spec"]["http"]
    assert all("mirror" not in route for route in routes)
    assert not [m for m in defaults if m["metadata"]["name"].endswith("-candidate")]


def test_the_rate_limit_selects_the_app_workload_only(
    defaults: list[Manifest], one_object: One
) -> None:
    limit = one_object(defaults, "EnvoyFilter", "phishline-app-ratelimit")
    selector = limit["spec"]["workloadSelector"]["labels"].items()
    selected = {
        d["metadata"]["name"]
        for d in defaults
        if d["kind"] == "Deployment"
        and selector <= d["spec"]["template"]["metadata"]["labels"].items()
    }
    assert selected == {"phishline-app-v1", "phishline-app-v2"}


def test_the_rate_limit_is_a_token_bucket_answering_429(
    defaults: list[Manifest], one_object: One
) -> None:
    patch = one_object(defaults, "EnvoyFilter", "phishline-app-ratelimit")["spec"]["configPatches"][
        0
    ]
    assert patch["match"]["context"] == "SIDECAR_INBOUND"
    config = patch["patch"]["value"]["typed_config"]
    assert config["@type"].endswith("local_ratelimit.v3.LocalRateLimit")
    assert config["status"] == {"code": "TooManyRequests"}  # Envoy's name for 429
    assert config["token_bucket"] == {
        "max_tokens": 100,
        "tokens_per_fill": 20,
        "fill_interval": "1s",
    }
    headers = {h["header"]["key"]: h["header"]["value"] for h in config["response_headers_to_add"]}
    assert headers == {"x-envoy-ratelimited": "true"}
    for switch in ("filter_enabled", "filter_enforced"):
        assert config[switch]["default_value"] == {"numerator": 100, "denominator": "HUNDRED"}


@pytest.mark.parametrize("interval", ["1s", "0.5s", "0.05s", "60s", "2.5s"])
def test_the_fill_interval_is_a_duration_envoy_reads(
    rendered: Render, one_object: One, interval: str
) -> None:
    """istiod turns the patch into Envoy's protobuf through its JSON form, where a Duration
    is seconds ending in `s`; Envoy's local rate limit refuses a fill interval under 50 ms."""
    limit = one_object(
        rendered({"istio": {"rateLimit": {"fillInterval": interval}}}),
        "EnvoyFilter",
        "phishline-app-ratelimit",
    )
    value = limit["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["token_bucket"][
        "fill_interval"
    ]
    duration = duration_pb2.Duration()
    duration.FromJsonString(value)
    assert duration.ToTimedelta() >= timedelta(milliseconds=50)


@pytest.mark.parametrize("interval", ["1m", "100ms", "1h", "0s", "0.01s", "0.049s"])
def test_a_fill_interval_envoy_cannot_read_is_refused(rendered: Render, interval: str) -> None:
    with pytest.raises(helm.HelmError, match="fillInterval"):
        rendered({"istio": {"rateLimit": {"fillInterval": interval}}})


def test_rate_limiting_can_be_switched_off(
    rendered: Render, find_objects: Callable[..., list[Manifest]]
) -> None:
    assert not find_objects(rendered({"istio": {"rateLimit": {"enabled": False}}}), "EnvoyFilter")


def test_without_istio_the_ingress_serves_one_variant(rendered: Render, one_object: One) -> None:
    manifests = rendered(
        {"istio": {"enabled": False}, "ingress": {"enabled": True, "variant": "v2"}}
    )
    assert not [m for m in manifests if m["apiVersion"].startswith("networking.istio.io")]
    ingress = one_object(manifests, "Ingress", "phishline-app")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = one_object(manifests, "Service", backend["name"])
    assert service["spec"]["selector"] == {"app": "phishline-app-v2"}


def test_egress_reaches_only_the_release_hosts(rendered: Render, one_object: One) -> None:
    manifests = rendered({"istio": {"egress": {"enabled": True}}})
    entry = one_object(manifests, "ServiceEntry", "phishline-model-release")
    hosts = ["github.com", "release-assets.githubusercontent.com", "objects.githubusercontent.com"]
    assert entry["spec"]["hosts"] == hosts
    assert entry["spec"]["exportTo"] == ["."]
    sidecar = one_object(manifests, "Sidecar", "phishline-model-service")
    assert sidecar["spec"]["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert sidecar["spec"]["egress"][0]["hosts"] == [f"./{h}" for h in hosts] + ["istio-system/*"]
    pods = one_object(manifests, "Deployment", "phishline-model-service")["spec"]["template"][
        "metadata"
    ]["labels"]
    assert sidecar["spec"]["workloadSelector"]["labels"].items() <= pods.items()


def test_model_service_calls_nothing_in_its_namespace(rendered: Render, one_object: One) -> None:
    """The Sidecar admits the release hosts and the control plane, not `./*`: model-service
    calls no other service, in its namespace or elsewhere."""
    for gateway in (False, True):
        manifests = rendered(
            {"istio": {"egress": {"enabled": True, "gateway": {"enabled": gateway}}}}
        )
        hosts = one_object(manifests, "Sidecar", "phishline-model-service")["spec"]["egress"][0][
            "hosts"
        ]
        assert [h for h in hosts if h.startswith("./") and "*" in h] == []


def egress_through_gateway(rendered: Render, service: str | None = None) -> list[Manifest]:
    gateway: dict[str, Any] = {"enabled": True}
    if service is not None:
        gateway["service"] = service
    return rendered({"istio": {"egress": {"enabled": True, "gateway": gateway}}})


@pytest.mark.parametrize(
    ("service", "namespace"),
    [
        (None, "istio-system"),  # the chart's default
        ("egress.istio-egress.svc.cluster.local", "istio-egress"),
    ],
)
def test_the_egress_gateway_sees_the_hosts_it_routes_to(
    rendered: Render, one_object: One, service: str | None, namespace: str
) -> None:
    """The gateway's own routes send the TLS on to the release hosts, so its namespace must
    see their ServiceEntry and the VirtualService; exported to the release's namespace only,
    the gateway has no such host and answers 503 (istio/istio.io#7615)."""
    manifests = egress_through_gateway(rendered, service)
    entry = one_object(manifests, "ServiceEntry", "phishline-model-release")
    virtual_service = one_object(manifests, "VirtualService", "phishline-model-release-egress")
    assert entry["spec"]["exportTo"] == [".", namespace]
    assert virtual_service["spec"]["exportTo"] == [".", namespace]
    gateway_routes = [
        route
        for route in virtual_service["spec"]["tls"]
        if route["match"][0]["gateways"] == ["phishline-model-release-egress"]
    ]
    assert {r["route"][0]["destination"]["host"] for r in gateway_routes} == set(
        entry["spec"]["hosts"]
    )
    # The sidecars' route to the gateway is theirs alone.
    rule = one_object(manifests, "DestinationRule", "phishline-model-release-egress")
    assert rule["spec"]["exportTo"] == ["."]
    gateway_host = rule["spec"]["host"]
    sidecar = one_object(manifests, "Sidecar", "phishline-model-service")
    assert f"{namespace}/{gateway_host}" in sidecar["spec"]["egress"][0]["hosts"]


def test_an_egress_gateway_in_the_release_namespace_needs_no_export(
    rendered: Render, one_object: One
) -> None:
    manifests = egress_through_gateway(rendered, "istio-egressgateway.phishline.svc.cluster.local")
    assert one_object(manifests, "ServiceEntry", "phishline-model-release")["spec"]["exportTo"] == [
        "."
    ]


def test_an_egress_gateway_service_without_its_namespace_is_refused(rendered: Render) -> None:
    with pytest.raises(helm.HelmRenderError, match="must name the gateway's namespace"):
        egress_through_gateway(rendered, "istio-egressgateway")
