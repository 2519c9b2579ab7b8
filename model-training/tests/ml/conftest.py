"""Shared fixtures of the ML test suite: small real splits and models trained on them.

The splits come from the same fixed sample of real Ebbu2017 URLs as the pipeline tests, cut
by the pipeline's own cleaning and domain-grouped split; the models are the three families,
trained with the pipeline's code and params.yaml, scaled down so that training takes seconds.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from lib_ml import Predictor
from model_training.config import load_params
from model_training.prepare import clean, grouped_split
from model_training.sources import Example
from model_training.train import Split, build_models

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def params() -> dict[str, Any]:
    return load_params(REPO)


@pytest.fixture(scope="session")
def thresholds(params: dict[str, Any]) -> dict[str, Any]:
    """The `tests:` section of params.yaml."""
    return dict(params["tests"])


@pytest.fixture(scope="session")
def examples(ebbu_sample: dict[str, list[str]], params: dict[str, Any]) -> dict[str, list[Example]]:
    """train/val/test examples of the sample, cleaned and split as the prepare stage does."""
    raw = [Example(url, 0) for url in ebbu_sample["legitimate"]]
    raw += [Example(url, 1) for url in ebbu_sample["phishing"]]
    cleaned = clean(raw)
    prepare = params["prepare"]
    fractions = {"val": prepare["val_fraction"], "test": prepare["test_fraction"]}
    indices = grouped_split(cleaned.domains, fractions, seed=prepare["seed"])
    return {name: [cleaned.examples[i] for i in index] for name, index in indices.items()}


@pytest.fixture(scope="session")
def splits(examples: dict[str, list[Example]]) -> dict[str, Split]:
    return {name: Split.from_examples(split) for name, split in examples.items()}


@pytest.fixture(scope="session")
def training_params(params: dict[str, Any]) -> dict[str, Any]:
    """params.yaml's train section, scaled to a sample of a few thousand URLs (one LightGBM
    thread: on tiny data a second thread costs more in synchronization than it gives)."""
    train = {**params["train"]}
    train["linear"] = {**train["linear"], "hash_bits": 16, "epochs": 5}
    train["gbm"] = {**train["gbm"], "num_boost_round": 300, "early_stopping_rounds": 20}
    train["gbm"]["num_threads"] = 1
    # The suite holds val out as well as test (slices, the training/serving skew check), so
    # its models are the ones chosen on val; refitting on train + val is tested in
    # tests/test_pipeline.py.
    train["refit"] = False
    return train


@pytest.fixture(scope="session")
def budgets() -> dict[str, Any]:
    """Time and memory budgets of the monitored methods (budgets.yaml beside this file)."""
    loaded = yaml.safe_load((Path(__file__).with_name("budgets.yaml")).read_text(encoding="utf-8"))
    return dict(loaded)


@pytest.fixture(scope="session")
def train_small(training_params: dict[str, Any], splits: dict[str, Split]):  # type: ignore[no-untyped-def]
    """Train into a directory: `train_small(directory, seed=None, families=None)`."""

    def train(
        directory: Path, seed: int | None = None, families: tuple[str, ...] | None = None
    ) -> Path:
        settings = dict(training_params)
        if seed is not None:
            settings["seed"] = seed
        if families is not None:
            settings["families"] = list(families)
        build_models(splits["train"], splits["val"], settings, directory)
        return directory

    return train


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory, train_small) -> Path:  # type: ignore[no-untyped-def]
    """linear/, gbm/ and ensemble/ trained on the small train split with the default seed."""
    return train_small(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def ensemble(models: Path) -> Predictor:
    return Predictor.load(models / "ensemble")


@pytest.fixture
def broken_ensemble(models: Path, tmp_path: Path) -> Predictor:
    """The ensemble with its stacker turned upside down: it calls phishing what it should not."""
    directory = Path(shutil.copytree(models / "ensemble", tmp_path / "broken"))
    manifest = json.loads((directory / "model.json").read_text())
    stacker = manifest["stacker"]
    manifest["stacker"] = {
        "coef": [-c for c in stacker["coef"]],
        "intercept": -stacker["intercept"],
    }
    (directory / "model.json").write_text(json.dumps(manifest))
    return Predictor.load(directory)
