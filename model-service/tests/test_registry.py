"""Loading, verifying and reloading models (the SIGHUP path and the admin endpoint)."""

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from lib_ml import Predictor, TamperedArtifactError
from model_service.api.deps import service_state
from model_service.core.batching import Scored
from model_service.core.config import Settings
from model_service.core.errors import ModelLoadError
from model_service.core.metrics import ServiceMetrics
from model_service.core.registry import (
    ModelRegistry,
    ModelStore,
    NoModelsError,
    UnknownModelError,
    load_registry,
)
from model_service.main import create_app
from model_service.server import reload_on_signal

from .conftest import ADMIN, ADMIN_TOKEN


def test_registry_loads_every_artifact(registry: ModelRegistry) -> None:
    assert sorted(registry.models) == ["ensemble", "gbm", "linear"]
    assert registry.default == "ensemble"
    assert registry.get(None) is registry.models["ensemble"]
    assert registry.get("gbm").family == "gbm"


def test_registry_is_read_only(registry: ModelRegistry) -> None:
    with pytest.raises(TypeError):
        registry.models["other"] = registry.models["gbm"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        registry.default = "gbm"  # type: ignore[misc]


def test_unknown_model_names_the_loaded_ones(registry: ModelRegistry) -> None:
    with pytest.raises(UnknownModelError, match="ensemble, gbm, linear"):
        registry.get("nope")


def test_empty_registry_has_no_default() -> None:
    with pytest.raises(NoModelsError):
        ModelRegistry().get(None)


def test_default_falls_back_to_the_first_loaded(
    models_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.rmtree(models_copy / "ensemble")
    registry = ModelRegistry.from_directory(models_copy, "ensemble")
    assert registry.default == "gbm"
    assert "default model 'ensemble' is not loaded" in caplog.text


def test_fallback_default_and_loaded_names_are_alphabetical_whatever_the_load_order(
    registry: ModelRegistry,
) -> None:
    unordered = ModelRegistry.from_predictors(
        [registry.models["linear"], registry.models["gbm"]], "ensemble"
    )
    assert unordered.default == "gbm"
    with pytest.raises(UnknownModelError, match=r"loaded models: gbm, linear$"):
        unordered.get("nope")


def test_a_directory_holding_one_artifact_loads_it(artifact_root: Path) -> None:
    registry = ModelRegistry.from_directory(artifact_root / "linear", "ensemble")
    assert list(registry.models) == ["linear"]


def test_two_artifacts_with_one_name_are_refused(registry: ModelRegistry) -> None:
    linear = registry.models["linear"]
    with pytest.raises(ModelLoadError, match="both named 'linear'"):
        ModelRegistry.from_predictors([linear, linear], "linear")


def test_tampered_artifact_is_refused_with_the_reason(
    models_copy: Path, tamper: Callable[[Path], Path]
) -> None:
    damaged = tamper(models_copy / "gbm")
    with pytest.raises(ModelLoadError, match="sha256") as caught:
        ModelRegistry.from_directory(models_copy, "ensemble")
    assert isinstance(caught.value.__cause__, TamperedArtifactError)
    assert str(damaged) in str(caught.value)


def test_weights_without_their_model_json_are_refused(models_copy: Path) -> None:
    # Skipping the directory would serve the other models as if nothing were wrong.
    (models_copy / "gbm" / "model.json").unlink()
    with pytest.raises(ModelLoadError, match=r"models/gbm holds weight files but no model\.json"):
        ModelRegistry.from_directory(models_copy, "ensemble")


def test_other_directories_beside_the_artifacts_are_ignored(models_copy: Path) -> None:
    (models_copy / "notes").mkdir()
    (models_copy / "notes" / "README.md").write_text("not a model")
    assert sorted(ModelRegistry.from_directory(models_copy, "ensemble").models) == [
        "ensemble",
        "gbm",
        "linear",
    ]


def test_an_empty_model_dir_gives_an_empty_registry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = load_registry(Settings(model_dir=tmp_path))
    assert registry.models == {}
    assert registry.default is None
    assert "no model artifacts found" in caplog.text
    assert "is not loaded" not in caplog.text


def test_a_missing_model_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=f"the model directory {tmp_path / 'absent'} does"):
        load_registry(Settings(model_dir=tmp_path / "absent"))


def test_create_app_refuses_tampered_artifacts(
    models_copy: Path, tamper: Callable[[Path], Path], make_client: Callable[..., TestClient]
) -> None:
    tamper(models_copy / "linear")
    with pytest.raises(ModelLoadError, match="linear"):
        make_client(Settings(model_dir=models_copy))


class _Store:
    """A store over a private copy of the artifacts, with its metrics."""

    def __init__(self, models_dir: Path, registry: ModelRegistry):
        self.dir = models_dir
        self.metrics = ServiceMetrics()
        settings = Settings(model_dir=models_dir)
        self.store = ModelStore(registry, lambda: load_registry(settings), self.metrics)

    def reloads(self, result: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "phishline_model_reloads_total", {"result": result}
        )
        assert value is not None
        return value


@pytest.fixture
def store(models_copy: Path, registry: ModelRegistry) -> _Store:
    return _Store(models_copy, registry)


def test_reload_swaps_in_new_models(store: _Store) -> None:
    before = store.store.current
    shutil.rmtree(store.dir / "gbm")
    after = store.store.reload()
    assert store.store.current is after is not before
    assert sorted(after.models) == ["ensemble", "linear"]
    assert before.models["gbm"].family == "gbm"  # requests holding the old snapshot keep it
    assert store.reloads("success") == 1


def test_a_request_in_flight_finishes_on_the_models_it_started_with(
    models_copy: Path, registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reload that lands while a single predict waits for its micro-batch: the request is
    scored and answered by the model it chose, although the new set no longer holds it."""
    app = create_app(Settings(model_dir=models_copy), registry)
    client = TestClient(app)
    service = service_state(app)
    shutil.rmtree(models_copy / "ensemble")
    score = service.batcher.predict
    scored_by = []

    async def reload_then_score(predictor: Predictor, url: str, explain_top_k: int) -> Scored:
        service.store.reload()
        scored_by.append(predictor)
        return await score(predictor, url, explain_top_k)

    monkeypatch.setattr(service.batcher, "predict", reload_then_score)
    response = client.post("/v1/predict", json={"url": "http://secure-login.example.tk/verify"})
    assert response.status_code == 200
    assert response.json()["model"] == "ensemble"
    assert response.json()["model_version"] == registry.models["ensemble"].version
    assert scored_by == [registry.models["ensemble"]]
    assert sorted(service.store.current.models) == ["gbm", "linear"]
    monkeypatch.undo()
    after = client.post("/v1/predict", json={"url": "http://secure-login.example.tk/verify"})
    assert after.json()["model"] == "gbm"  # the new default, now the ensemble is gone


@pytest.mark.parametrize("damage", ["tamper", "no manifest", "empty"])
def test_signal_reload_keeps_the_old_models_when_the_new_ones_are_bad(
    store: _Store, tamper: Callable[[Path], Path], damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = store.store.current
    if damage == "tamper":
        tamper(store.dir / "ensemble")
    elif damage == "no manifest":
        (store.dir / "linear" / "model.json").unlink()
    else:
        for artifact in list(store.dir.iterdir()):
            shutil.rmtree(artifact)
    reload_on_signal(store.store)
    assert store.store.current is before
    assert store.reloads("failure") == 1
    assert store.reloads("success") == 0
    assert "keeping the loaded models" in caplog.text


def test_signal_reload_loads_good_models(store: _Store) -> None:
    before = store.store.current
    shutil.rmtree(store.dir / "gbm")  # so the snapshot in use shows what was read from disk
    reload_on_signal(store.store)
    after = store.store.current
    assert after is not before
    assert sorted(after.models) == ["ensemble", "linear"]
    assert after.models["linear"].family == "linear"
    assert store.reloads("success") == 1


def test_admin_reload(
    models_copy: Path,
    registry: ModelRegistry,
    tamper: Callable[[Path], Path],
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(Settings(model_dir=models_copy, admin_token=ADMIN_TOKEN), registry)
    shutil.rmtree(models_copy / "gbm")
    reloaded = client.post("/admin/reload", headers=ADMIN)
    assert reloaded.status_code == 200
    assert reloaded.json() == {"models": ["ensemble", "linear"], "default_model": "ensemble"}
    assert client.post("/v1/predict", json={"url": "a.com", "model": "gbm"}).status_code == 422

    tamper(models_copy / "linear")
    failed = client.post("/admin/reload", headers=ADMIN)
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "reload_failed"
    assert "sha256" in failed.json()["error"]["message"]
    kept = client.post("/v1/predict", json={"url": "a.com", "model": "linear"})
    assert kept.status_code == 200  # the old, verified linear model still serves
    assert failed.json()["error"]["message"].startswith("reload failed, the previous models stay")


def test_a_failed_reload_with_no_model_loaded_does_not_speak_of_previous_models(
    tmp_path: Path, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(Settings(model_dir=tmp_path, admin_token=ADMIN_TOKEN), ModelRegistry())
    failed = client.post("/admin/reload", headers=ADMIN)
    assert failed.status_code == 500
    assert failed.json()["error"]["message"] == (
        "reload failed, still no model is loaded: the model source holds no model artifacts"
    )


def test_the_admin_routes_are_off_without_a_token(client: TestClient) -> None:
    refused = client.post("/admin/reload", headers=ADMIN)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "admin_disabled"
    assert "PHISHLINE_ADMIN_TOKEN" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer not-the-admin-token"},
        {"authorization": f"Bearer {ADMIN_TOKEN}x"},
        {"authorization": f"Basic {ADMIN_TOKEN}"},
        {"authorization": ADMIN_TOKEN},
    ],
)
def test_the_admin_routes_want_the_token(
    artifact_root: Path,
    registry: ModelRegistry,
    make_client: Callable[..., TestClient],
    headers: dict[str, str],
) -> None:
    client = make_client(Settings(model_dir=artifact_root, admin_token=ADMIN_TOKEN), registry)
    refused = client.post("/admin/reload", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json()["error"] == {
        "code": "unauthorized",
        "message": "send the admin token: Authorization: Bearer <PHISHLINE_ADMIN_TOKEN>",
    }
    assert client.post("/admin/reload", headers=ADMIN).status_code == 200


def test_a_short_admin_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="admin_token"):
        Settings(admin_token="x" * 15)
