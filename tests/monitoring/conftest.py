"""Shared by the monitoring tests: the operation files, the real tools, and the metric names
that the code exports (read from the components' own registries, not from a list)."""

import importlib.util
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "operation" / "prometheus"
RULES = PROMETHEUS_DIR / "rules.yml"
# Series Prometheus writes itself: for every target, and for every pending or firing alert.
PROMETHEUS_SERIES = frozenset({"up", "ALERTS"})
# The sample names each metric type exposes, after the family name.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),  # no quantiles in prometheus_client
}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.$])([a-zA-Z_:][\w:]*)\b(?!\s*\()")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "inf", "nan"}
)


def tool(name: str) -> str:
    """The path of a system tool, or a skip saying how to get it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (`make system` installs it on Debian)")
    return path


def load_module(path: Path) -> ModuleType:
    """Import a script of operation/ (not a package) by its path."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metric_names_in(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, label names and
    values, durations and numbers left out)."""
    text = _STRINGS.sub('""', expr)
    text = _LABEL_LISTS.sub(" ", _RANGES.sub(" ", _MATCHERS.sub(" ", text)))
    return {name for name in _IDENTIFIER.findall(text) if name.lower() not in _KEYWORDS}


def recorded_names(rules_path: Path = RULES) -> set[str]:
    groups = yaml.safe_load(rules_path.read_text(encoding="utf-8"))["groups"]
    return {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}


def _exported_by_code() -> frozenset[str]:
    from model_service.core.metrics import ServiceMetrics
    from phishline_app.core.metrics import AppMetrics

    registries = (ServiceMetrics().registry, AppMetrics(variant="v1", version="0").registry)
    return frozenset(
        family.name + suffix
        for registry in registries
        for family in registry.collect()
        for suffix in SUFFIXES[family.type]
    )


@pytest.fixture(scope="session")
def prometheus_dir() -> Path:
    return PROMETHEUS_DIR


@pytest.fixture(scope="session")
def promql_metric_names() -> Callable[[str], set[str]]:
    return metric_names_in


@pytest.fixture(scope="session")
def recorded() -> set[str]:
    """The names the recording rules of rules.yml write."""
    return recorded_names()


@pytest.fixture(scope="session")
def operation_module() -> Callable[[Path], ModuleType]:
    return load_module


@pytest.fixture(scope="session")
def exported_metrics() -> frozenset[str]:
    return _exported_by_code()


@pytest.fixture(scope="session")
def known_metrics(exported_metrics: frozenset[str]) -> frozenset[str]:
    """What a rule or a panel may select: exported, recorded, or written by Prometheus."""
    return exported_metrics | recorded_names() | PROMETHEUS_SERIES


@pytest.fixture(scope="session")
def promtool() -> str:
    return tool("promtool")


@pytest.fixture(scope="session")
def amtool() -> str:
    return tool("amtool")


@pytest.fixture
def check_queries(promtool: str, tmp_path: Path) -> Callable[[Iterable[str]], str]:
    """Parse PromQL expressions with Prometheus' own parser (`promtool check rules` on a
    rules file recording each); returns promtool's output, raises when one is invalid."""

    def check(exprs: Iterable[str]) -> str:
        rules = [{"record": f"check:query_{i}", "expr": expr} for i, expr in enumerate(exprs)]
        path = tmp_path / "queries.rules.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "queries", "rules": rules}]}))
        result = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise AssertionError(result.stdout + result.stderr)
        return result.stdout

    return check
