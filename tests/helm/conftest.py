"""Shared by the Helm chart tests: the chart rendered offline by Helm's own library
(helm-python-sdk), for the value sets every test looks at."""

import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "operation" / "helm" / "phishline"
RELEASE = "phishline"
NAMESPACE = "phishline"

Manifest = dict[str, Any]

# The value sets the chart must render for (issue: defaults, Istio on/off, shadow on/off,
# rate limiting on/off; plus the Ingress, egress and Flagger parts).
SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "no-istio-ingress": {"istio": {"enabled": False}, "ingress": {"enabled": True}},
    "shadow": {"modelService": {"shadow": {"enabled": True, "percentage": 25}}},
    "no-rate-limit": {"istio": {"rateLimit": {"enabled": False}}},
    "egress": {"istio": {"egress": {"enabled": True, "gateway": {"enabled": True}}}},
    "canary": {"canary": {"enabled": True, "notificationUrl": "http://notify.example/"}},
    "canary-rolling-app": {"canary": {"enabled": True, "app": {"blueGreen": False}}},
    "no-monitoring-no-autoscaling": {
        "monitoring": {
            "serviceMonitor": {"enabled": False},
            "prometheusRule": {"enabled": False},
            "grafanaDashboards": {"enabled": False},
            "alertmanagerConfig": {"enabled": False},
        },
        "modelService": {"autoscaling": {"enabled": False}},
        "app": {"autoscaling": {"enabled": False}},
        "networkPolicy": {"enabled": False},
        "imagePullSecrets": [{"name": "ghcr-pull"}],
    },
}


def _freeze(values: dict[str, Any]) -> str:
    return yaml.safe_dump(values, sort_keys=True)


@cache
def _render(frozen: str) -> tuple[tuple[str, str], ...]:
    with helm.Chart.load(CHART) as chart:
        files = chart.render(yaml.safe_load(frozen), name=RELEASE, namespace=NAMESPACE)
    return tuple(sorted(files.items()))


def render_files(values: dict[str, Any]) -> dict[str, str]:
    """Template path -> rendered text (NOTES.txt included), as `helm template` makes them."""
    return dict(_render(_freeze(values)))


def render(values: dict[str, Any]) -> list[Manifest]:
    """The objects the chart renders for these values (test hooks included); shared between
    tests, so never to be changed in place."""
    return _parse(_freeze(values))


@cache
def _parse(frozen: str) -> list[Manifest]:
    return [
        document
        for path, text in _render(frozen)
        if not path.endswith("NOTES.txt")
        for document in yaml.load_all(text, Loader=yaml.CSafeLoader)
        if document
    ]


def find(manifests: list[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    return [
        m
        for m in manifests
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]


def one(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = find(manifests, kind, name)
    assert len(found) == 1, f"{len(found)} {kind} named {name}"
    return found[0]


@pytest.fixture(scope="session")
def chart_dir() -> Path:
    return CHART


@pytest.fixture(scope="session")
def rendered() -> Callable[[dict[str, Any]], list[Manifest]]:
    return render


@pytest.fixture(scope="session")
def rendered_files() -> Callable[[dict[str, Any]], dict[str, str]]:
    return render_files


@pytest.fixture(scope="session")
def scenarios() -> dict[str, dict[str, Any]]:
    return SCENARIOS


@pytest.fixture(scope="session")
def defaults() -> list[Manifest]:
    return render({})


@pytest.fixture(scope="session")
def find_objects() -> Callable[..., list[Manifest]]:
    return find


@pytest.fixture(scope="session")
def one_object() -> Callable[[list[Manifest], str, str], Manifest]:
    return one


@pytest.fixture(scope="session")
def chart_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    return values


def tool(name: str) -> str:
    """The path of a system tool, or a skip saying how to get it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (`make system` installs it on Debian)")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return tool("promtool")


@pytest.fixture(scope="session")
def shellcheck() -> str:
    return tool("shellcheck")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test asking for `scenario` runs once per value set of SCENARIOS."""
    if "scenario" in metafunc.fixturenames:
        metafunc.parametrize("scenario", list(SCENARIOS))


@pytest.fixture
def scenario_values(scenario: str) -> dict[str, Any]:
    return SCENARIOS[scenario]


@pytest.fixture
def manifests(scenario_values: dict[str, Any]) -> list[Manifest]:
    return render(scenario_values)
