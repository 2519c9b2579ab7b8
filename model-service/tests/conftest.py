"""Shared fixtures: a small real artifact set (trained once per session) and a test client."""

import logging
import os
import random
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from model_service.core.config import Settings
from model_service.core.registry import ModelRegistry
from model_service.main import create_app

with warnings.catch_warnings():
    # Starlette's test client prefers httpx2, which the locked requirements do not hold yet.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]


def data_mirror() -> Path:
    """The raw data beside the repository, or PHISHLINE_DATA_MIRROR (the data dir itself)."""
    configured = os.environ.get("PHISHLINE_DATA_MIRROR")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def artifact_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """linear/, gbm/ and ensemble/ trained on 3,000 Ebbu2017 URLs (small and fast)."""
    from model_training.config import load_params
    from model_training.sources import read_labelled
    from model_training.train import Split, build_models

    mirror = data_mirror() / "ebbu2017"
    if not mirror.is_dir():
        raise FileNotFoundError(f"no Ebbu2017 data under {mirror}; set PHISHLINE_DATA_MIRROR")
    examples = read_labelled(mirror / "data_legitimate_36400.json", "ebbu") + read_labelled(
        mirror / "data_phishing_37175.json", "ebbu"
    )
    random.Random(0).shuffle(examples)
    examples = examples[:4000]
    params = load_params(REPO)["train"]
    params["linear"]["hash_bits"] = 16
    # One thread: LightGBM's spinning threads crawl when the test run shares the cores.
    params["gbm"]["num_threads"] = 1
    models = tmp_path_factory.mktemp("models")
    build_models(
        Split.from_examples(examples[:3000]), Split.from_examples(examples[3000:]), params, models
    )
    return models


@pytest.fixture(scope="session")
def registry(artifact_root: Path) -> ModelRegistry:
    return ModelRegistry.from_directory(artifact_root, "ensemble")


@pytest.fixture
def models_copy(artifact_root: Path, tmp_path: Path) -> Path:
    """A private copy of the artifacts, for tests that damage or replace them."""
    return Path(shutil.copytree(artifact_root, tmp_path / "models"))


@pytest.fixture(autouse=True)
def _no_phishline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings must come from the test, not from the shell that runs it."""
    for name in list(os.environ):
        if name.startswith("PHISHLINE_") and name != "PHISHLINE_DATA_MIRROR":
            monkeypatch.delenv(name)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For tests of server.run, which configures the process's logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
def settings(artifact_root: Path, tmp_path: Path) -> Settings:
    return Settings(model_dir=artifact_root, model_cache_dir=tmp_path / "cache")


ClientFactory = Callable[..., TestClient]
# The admin routes' token in the tests that reload over HTTP, and the header that sends it.
ADMIN_TOKEN = "an-admin-token-for-tests"
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def make_client() -> ClientFactory:
    """A test client over create_app(settings, registry)."""

    def make(settings: Settings, registry: ModelRegistry | None = None) -> TestClient:
        return TestClient(create_app(settings, registry))

    return make


@pytest.fixture
def client(settings: Settings, registry: ModelRegistry) -> Iterator[TestClient]:
    with TestClient(create_app(settings, registry)) as test_client:
        yield test_client


def _tamper(artifact: Path) -> Path:
    weights = sorted(artifact.glob("*.npz"))[0]
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    return weights


@pytest.fixture
def tamper() -> Callable[[Path], Path]:
    """Flips one byte of an artifact's first weight file; returns that file."""
    return _tamper


def _metric_value(text: str, name: str, **labels: Any) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(
                sample.labels.get(k) == str(v) for k, v in labels.items()
            ):
                return float(sample.value)
    return None


@pytest.fixture
def metric_value() -> Callable[..., float | None]:
    """The value of one series in a Prometheus text exposition (None when absent)."""
    return _metric_value
