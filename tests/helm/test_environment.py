"""The chart sets only environment variables the services read, and every one a pod needs.

The names the code reads come from the pydantic Settings classes themselves (env prefix plus
field name, or a field's alias), so a renamed setting fails here."""

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from phishline.canary.analysis import merge_values

Manifest = dict[str, Any]

# Settings a pod cannot do without, although the code has a default for local runs.
REQUIRED_IN_CLUSTER = {
    "model-service": {
        "PHISHLINE_HOST",  # the default 127.0.0.1 is unreachable from other pods
        "PHISHLINE_PORT",  # must match the containerPort the probes and Service use
        "PHISHLINE_MODEL_CACHE_DIR",  # the default is under $HOME, on a read-only filesystem
        "PHISHLINE_SHUTDOWN_TIMEOUT",  # must fit in the pod's grace period
    },
    "app": {
        "PHISHLINE_HOST",
        "PHISHLINE_PORT",
        "PHISHLINE_VARIANT",  # one Deployment per variant
        "PHISHLINE_MODEL_SERVICE_URL",  # the default is localhost
        "PHISHLINE_DATABASE_URL",  # the default is a relative path on a read-only filesystem
        "PHISHLINE_SECRET_KEY",  # random per process otherwise: replicas reject each other's forms
    },
}


def env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = settings.model_config.get("env_prefix", "")
    names = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias or field.alias
        names.add((alias if isinstance(alias, str) else prefix + name).upper())
    return names


def settings_of(component: str) -> type[BaseSettings]:
    if component == "model-service":
        from model_service.core.config import Settings as ServiceSettings

        return ServiceSettings
    from phishline_app.core.config import Settings as AppSettings

    return AppSettings


def container_env(deployment: Manifest, manifests: list[Manifest]) -> dict[str, Any]:
    """Every variable the container gets: envFrom ConfigMaps resolved, then env."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        config_map = next(
            m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == name
        )
        env |= config_map["data"]
    for variable in container.get("env", []):
        env[variable["name"]] = variable.get("value", variable.get("valueFrom"))
    return env


def deployments(manifests: list[Manifest]) -> list[tuple[str, Manifest]]:
    return [
        (m["metadata"]["labels"]["app.kubernetes.io/component"], m)
        for m in manifests
        if m["kind"] == "Deployment"
    ]


def check_environment(component: str, deployment: Manifest, manifests: list[Manifest]) -> None:
    read = env_names(settings_of(component))
    assert REQUIRED_IN_CLUSTER[component] <= read, "a required variable is no setting"
    env = container_env(deployment, manifests)
    name = deployment["metadata"]["name"]
    assert set(env) <= read, f"{name} sets variables its code never reads: {set(env) - read}"
    assert REQUIRED_IN_CLUSTER[component] <= set(env), f"{name} misses required variables"


def test_every_variable_is_read_and_every_needed_one_is_set(manifests: list[Manifest]) -> None:
    assert deployments(manifests)
    for component, deployment in deployments(manifests):
        check_environment(component, deployment, manifests)


def test_model_service_downloads_the_release_models(
    rendered: Callable[[dict[str, Any]], list[Manifest]], one_object: Callable[..., Manifest]
) -> None:
    """The image holds no model: by default the release asset of the chart's appVersion."""
    pinned = (
        "https://github.com/phishline/phishline/releases/download/v0.1.0/phishline-models.tar.gz"
    )
    own = "https://models.example.org/m.tar.gz"
    for values, url in (({}, pinned), ({"modelService": {"modelUrl": own}}, own)):
        manifests = rendered(values)
        env = container_env(
            one_object(manifests, "Deployment", "phishline-model-service"), manifests
        )
        assert env["PHISHLINE_MODEL_URL"] == url


def test_each_variant_deployment_runs_its_variant(
    defaults: list[Manifest], one_object: Callable[..., Manifest]
) -> None:
    for variant in ("v1", "v2"):
        env = container_env(
            one_object(defaults, "Deployment", f"phishline-app-{variant}"), defaults
        )
        assert env["PHISHLINE_VARIANT"] == variant
        assert env["PHISHLINE_MODEL_SERVICE_URL"] == "http://phishline-model-service:8081"


def test_the_values_parse_as_the_services_settings(
    defaults: list[Manifest], one_object: Callable[..., Manifest]
) -> None:
    """The ConfigMap values are valid settings, not just known names."""
    for component, deployment in deployments(defaults):
        plain = {k: v for k, v in container_env(deployment, defaults).items() if isinstance(v, str)}
        settings = settings_of(component)
        prefix = settings.model_config.get("env_prefix", "")
        settings.model_validate({k.removeprefix(prefix).lower(): v for k, v in plain.items()})


def test_an_unread_or_a_missing_variable_is_caught(
    defaults: list[Manifest], one_object: Callable[..., Manifest]
) -> None:
    """The seed's chart set MODEL_HOST while its app read MODEL_SERVICE_URL."""
    deployment = copy.deepcopy(one_object(defaults, "Deployment", "phishline-app-v1"))
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    env.append({"name": "PHISHLINE_MODEL_HOST", "value": "model-service"})
    with pytest.raises(AssertionError, match="never reads"):
        check_environment("app", deployment, defaults)
    env[:] = [
        e
        for e in env
        if e["name"] != "PHISHLINE_SECRET_KEY" and e["name"] != "PHISHLINE_MODEL_HOST"
    ]
    with pytest.raises(AssertionError, match="misses required"):
        check_environment("app", deployment, defaults)


def config_checksums(manifests: list[Manifest]) -> dict[str, str]:
    return {
        m["metadata"]["name"]: m["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        for m in manifests
        if m["kind"] == "Deployment"
    }


@pytest.mark.parametrize(
    ("values", "rolled"),
    [
        ({"app": {"logLevel": "debug"}}, {"phishline-app-v1", "phishline-app-v2"}),
        (
            {"modelService": {"logLevel": "debug"}},
            {"phishline-model-service", "phishline-model-service-candidate"},
        ),
    ],
    ids=["app setting", "model-service setting"],
)
def test_a_config_change_rolls_only_the_pods_that_read_it(
    rendered: Callable[[dict[str, Any]], list[Manifest]], values: dict[str, Any], rolled: set[str]
) -> None:
    """Under Flagger a rolled model-service is a whole canary analysis: an app setting must
    not start one."""
    shadow = {"modelService": {"shadow": {"enabled": True}}}
    before = config_checksums(rendered(shadow))
    after = config_checksums(rendered(merge_values(shadow, values)))
    assert len(before) == 4
    assert {name for name in before if before[name] != after[name]} == rolled


@pytest.mark.parametrize(
    ("values", "secure"),
    [
        ({}, "false"),  # the default gateway serves plain HTTP on port 80 only
        ({"istio": {"gateway": {"credentialName": "phishline-tls"}}}, "true"),
        ({"istio": {"enabled": False}, "ingress": {"enabled": True}}, "false"),
        (
            {"istio": {"enabled": False}, "ingress": {"enabled": True, "tlsSecretName": "tls"}},
            "true",
        ),
        # One entry point over plain HTTP is enough to lose the cookies there.
        (
            {
                "istio": {"gateway": {"credentialName": "phishline-tls"}},
                "ingress": {"enabled": True},
            },
            "false",
        ),
        ({"app": {"secureCookies": True}}, "true"),  # TLS terminated in front of the gateway
        (
            {
                "istio": {"gateway": {"credentialName": "phishline-tls"}},
                "app": {"secureCookies": False},
            },
            "false",
        ),
    ],
    ids=[
        "http gateway",
        "tls gateway",
        "http ingress",
        "tls ingress",
        "tls gateway and http ingress",
        "explicit true",
        "explicit false",
    ],
)
def test_cookies_are_secure_exactly_when_users_come_over_tls(
    rendered: Callable[[dict[str, Any]], list[Manifest]],
    one_object: Callable[..., Manifest],
    values: dict[str, Any],
    secure: str,
) -> None:
    """Browsers drop Secure cookies over plain HTTP: the variant, the user id and with it
    the CSRF token would change on every request."""
    manifests = rendered(values)
    for variant in ("v1", "v2"):
        env = container_env(
            one_object(manifests, "Deployment", f"phishline-app-{variant}"), manifests
        )
        assert env["PHISHLINE_SECURE_COOKIES"] == secure
