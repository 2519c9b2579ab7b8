"""Non-determinism: the same seed gives byte-identical artifacts; different seeds
give test F1 scores within a spread from params.yaml. A trainer that ignores its seed and an
unstable training are caught."""

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lib_ml import Predictor
from lib_ml.artifact import MANIFEST, read_manifest
from model_training import train as train_module
from model_training.config import SOURCE_DATE_ENV, source_date_epoch
from model_training.metrics import classification_metrics
from model_training.train import Split


def differences(first: Path, second: Path) -> list[str]:
    """The files that differ between two model directories; of a model.json, its keys."""
    files = {
        path.relative_to(root)
        for root in (first, second)
        for path in root.rglob("*")
        if path.is_file()
    }
    found = []
    for relative in sorted(files):
        a, b = first / relative, second / relative
        if a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes():
            continue
        if relative.name == MANIFEST and a.is_file() and b.is_file():
            old, new = read_manifest(a.parent), read_manifest(b.parent)
            found += [
                f"{relative.parent}: {key}"
                for key in sorted(set(old) | set(new))
                if old.get(key) != new.get(key)
            ]
        else:
            found.append(str(relative))
    return found


def test_a_rebuild_at_the_same_moment_is_byte_identical(
    models: Path, train_small: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How a published artifact is checked: rebuilt with SOURCE_DATE_EPOCH set to its
    `created`, every file is the same, manifests included."""
    created = read_manifest(models / "ensemble")["created"]
    monkeypatch.setenv(SOURCE_DATE_ENV, str(source_date_epoch(created)))
    again = train_small(tmp_path / "again")
    assert differences(models, again) == []


def test_a_trainer_that_ignores_its_seed_is_caught(
    train_small: Callable[..., Path], tmp_path: Path, monkeypatch: Any
) -> None:
    fit_linear = train_module.fit_linear

    def unseeded(urls: Any, y: Any, params: Any, _seed: int) -> Any:
        return fit_linear(urls, y, params, secrets.randbelow(2**31))

    monkeypatch.setattr(train_module, "fit_linear", unseeded)
    first = train_small(tmp_path / "first", families=("linear",))
    second = train_small(tmp_path / "second", families=("linear",))
    assert "linear: files" in differences(first, second)


def test_f1_differs_little_between_seeds(
    models: Path,
    train_small: Callable[..., Path],
    training_params: dict[str, Any],
    splits: dict[str, Split],
    thresholds: dict[str, Any],
    tmp_path: Path,
    record_testsuite_property: Any,
) -> None:
    limits = thresholds["nondeterminism"]
    assert len(limits["seeds"]) >= 3
    f1 = []
    for seed in limits["seeds"]:
        # The default seed's models are already trained.
        trained = (
            models
            if seed == training_params["seed"]
            else train_small(tmp_path / str(seed), seed=seed)
        )
        model = Predictor.load(trained / "ensemble")
        scores = model.predict_proba(splits["test"].raw)
        f1.append(classification_metrics(splits["test"].y, scores, model.threshold)["f1"])
    seeds = ", ".join(
        f"{seed}: {value:.4f}" for seed, value in zip(limits["seeds"], f1, strict=True)
    )
    record_testsuite_property("test F1 of the sample-trained ensemble per seed", seeds)
    assert max(f1) - min(f1) <= limits["max_f1_spread"], f1


def test_an_unstable_training_is_caught(
    train_small: Callable[..., Path],
    splits: dict[str, Split],
    training_params: dict[str, Any],
    thresholds: dict[str, Any],
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    # A broken configuration: boosting steps 100 times too long on 5 % bags of the data and
    # a tenth of the features overshoot, so the model depends on the seed more than on the data.
    gbm = {
        **training_params["gbm"],
        "learning_rate": 5.0,
        "bagging_fraction": 0.05,
        "feature_fraction": 0.1,
    }
    monkeypatch.setitem(training_params, "gbm", gbm)
    test = splits["test"]
    f1 = []
    for seed in thresholds["nondeterminism"]["seeds"]:
        model = Predictor.load(
            train_small(tmp_path / str(seed), seed=seed, families=("gbm",)) / "gbm"
        )
        f1.append(
            classification_metrics(test.y, model.predict_proba(test.raw), model.threshold)["f1"]
        )
    assert max(f1) - min(f1) > thresholds["nondeterminism"]["max_f1_spread"], f1
