"""Every feature group is worth its cost: its time and memory stay within budget and the
ensemble loses ROC AUC without it (ablation); a useless group is caught."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from lib_ml import Predictor
from lib_ml import features as lib_features
from model_training.feature_cost import (
    GROUPS,
    GroupCost,
    feature_cost,
    feature_cost_report,
    featurizers,
    sample,
)
from model_training.prepare import SPLITS
from model_training.sources import Example, write_dl
from model_training.train import Split

# The report's training times come from its own build (feature_cost_report); these stand in.
TRAINING_SECONDS = {"linear": 1.5, "gbm": 2.5, "ensemble": 4.0}


@pytest.fixture(scope="module")
def costs(
    models: Path, splits: dict[str, Split], tmp_path_factory: pytest.TempPathFactory
) -> list[GroupCost]:
    work = tmp_path_factory.mktemp("feature-cost")
    return feature_cost(models, TRAINING_SECONDS, splits["test"], work)


def test_every_feature_group_is_measured(costs: list[GroupCost]) -> None:
    assert [c.group for c in costs] == list(GROUPS)
    for cost in costs:
        assert cost.featurize_us_per_url > 0
        assert cost.featurize_peak_mib > 0
        assert cost.matrix_mib > 0
        assert cost.training_seconds == TRAINING_SECONDS[cost.family]
        assert 0.5 < cost.alone["roc_auc"] <= 1.0


def test_every_feature_group_adds_value(costs: list[GroupCost], thresholds: dict[str, Any]) -> None:
    floor = thresholds["features"]["min_marginal_roc_auc"]
    assert {c.group: c.marginal_roc_auc for c in costs if c.marginal_roc_auc < floor} == {}


def test_no_feature_group_costs_too_much(costs: list[GroupCost], budgets: dict[str, Any]) -> None:
    for cost in costs:
        budget = budgets["feature_groups"][cost.group]
        assert cost.featurize_us_per_url <= budget["us_per_url"], cost
        assert cost.featurize_peak_mib <= budget["peak_mib"], cost


def test_a_useless_feature_group_is_caught(
    splits: dict[str, Split],
    train_small: Callable[..., Path],
    thresholds: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A broken featurizer: the lexical group says the same thing about every URL.
    monkeypatch.setattr(
        lib_features, "lexical_vector", lambda _url: [0.0] * len(lib_features.LEXICAL_FEATURES)
    )
    broken = feature_cost(
        train_small(tmp_path / "models"), TRAINING_SECONDS, splits["test"], tmp_path
    )
    marginal = {c.group: c.marginal_roc_auc for c in broken}
    assert marginal["lexical"] < thresholds["features"]["min_marginal_roc_auc"]
    assert marginal["ngram"] > 0.0


def test_feature_cost_needs_an_ensemble(models: Path, splits: dict[str, Split]) -> None:
    with pytest.raises(ValueError, match="ensemble"):
        featurizers(Predictor.load(models / "gbm"), splits["test"].urls)


def test_sample_is_seeded_and_keeps_the_order() -> None:
    examples = [Example(f"http://a{i}.com/", i % 2) for i in range(50)]
    first = sample(examples, 10)
    assert first == sample(examples, 10)
    assert len(first) == 10
    assert [examples.index(e) for e in first] == sorted(examples.index(e) for e in first)
    assert sample(examples, None) == examples
    assert sample(examples, 80) == examples


def test_report_of_the_prepared_splits(
    examples: dict[str, list[Example]], training_params: dict[str, Any], tmp_path: Path
) -> None:
    for name in SPLITS:
        write_dl(tmp_path / "data" / "prepared" / f"{name}.txt", examples[name])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"train": training_params}))
    costs, paths = feature_cost_report(tmp_path, limit=300)
    assert [p.name for p in paths] == ["feature_cost.json", "feature_cost.md"]
    assert all(p.parent == tmp_path / "reports" for p in paths)
    assert [c["group"] for c in json.loads(paths[0].read_text())] == ["ngram", "lexical"]
    table = paths[1].read_text()
    assert "on 300 test URLs" in table
    assert all(f"| {c.group} | {c.family} |" in table for c in costs)
    assert np.isfinite([c.marginal_roc_auc for c in costs]).all()
    assert all(c.training_seconds > 0 for c in costs)  # timed by the report's own build
