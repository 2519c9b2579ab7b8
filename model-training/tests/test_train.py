"""Training's building blocks on synthetic data, where the right answer is known."""

import numpy as np
import numpy.typing as npt
import pytest

from model_training.train import fit_trees

TREE_PARAMS = {
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 10,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "lambda_l2": 1.0,
    "num_boost_round": 100,
    "early_stopping_rounds": 20,
    "num_threads": 1,
}


def band_data(seed: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Column 1 is phishing evidence only in a middle band: the label falls again above it."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(2000, 2)).astype(np.float32)
    y = ((X[:, 1] > 0.3) & (X[:, 1] < 0.7)).astype(np.int64)
    return X, y


def logits_along_column_1(increasing: tuple[bool, ...]) -> npt.NDArray[np.float64]:
    trees = fit_trees(band_data(0), band_data(1), TREE_PARAMS, seed=0, increasing=increasing)
    grid = np.column_stack([np.full(101, 0.5), np.linspace(0, 1, 101)]).astype(np.float32)
    return trees.logits(grid)


@pytest.mark.parametrize("increasing", [(), (False, False)])
def test_unconstrained_trees_follow_the_band(increasing: tuple[bool, ...]) -> None:
    logits = logits_along_column_1(increasing)
    assert logits[50] > logits[0] + 1.0
    assert logits[50] > logits[100] + 1.0


def test_trees_increasing_in_a_column_never_fall_along_it() -> None:
    logits = logits_along_column_1((False, True))
    assert np.all(np.diff(logits) >= 0.0)
    assert logits[100] > logits[0]


def test_without_a_validation_pair_trees_grow_every_round() -> None:
    params = {**TREE_PARAMS, "num_boost_round": 37}
    assert fit_trees(band_data(0), None, params, seed=0).roots.size == 37
