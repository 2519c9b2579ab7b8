"""The refit check: train cut by registered domain, chosen vs refitted models compared on val."""

from typing import Any

import numpy as np

from lib_ml import registered_domain
from model_training.refit_check import REPORTED, cut, refit_check
from model_training.train import Split


def test_the_cut_keeps_each_registered_domain_in_one_part(splits: dict[str, Split]) -> None:
    train = splits["train"]
    fitting, choosing = cut(train, 0.2, seed=1)
    assert sorted(fitting.raw + choosing.raw) == sorted(train.raw)
    domains = [{registered_domain(url) for url in part.raw} for part in (fitting, choosing)]
    assert not domains[0] & domains[1]
    assert 0.1 < len(choosing.raw) / len(train.raw) < 0.3
    assert cut(train, 0.2, seed=2)[1].raw != choosing.raw


def test_chosen_and_refitted_models_are_compared_on_val(
    splits: dict[str, Split], training_params: dict[str, Any]
) -> None:
    params = {**training_params, "families": ["linear", "gbm"]}
    results = refit_check(splits["train"], splits["val"], params, seeds=[1])
    assert [(row["seed"], row["family"]) for row in results] == [(1, "linear"), (1, "gbm")]
    for row in results:
        assert sum(row["rows"]) == len(splits["train"].raw)
        for model in ("chosen", "refitted"):
            assert set(row[model]) == set(REPORTED)
            assert all(np.isfinite(value) for value in row[model].values())
        # More rows, new weights: the val log loss moves.
        assert row["chosen"]["log_loss"] != row["refitted"]["log_loss"]
