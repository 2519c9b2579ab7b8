"""`train.ensemble.monotone_views`: the ensemble's trees never lower their answer as a view's
logit rises (and, without it, they may)."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lib_ml import Predictor, normalize_url
from model_training.train import Split, build_models


@pytest.mark.parametrize("monotone", [True, False])
def test_monotone_views_make_the_trees_increasing_in_every_view_logit(
    monotone: bool, splits: dict[str, Split], training_params: dict[str, Any], tmp_path: Path
) -> None:
    params = {**training_params, "families": ["linear", "ensemble"]}
    params["ensemble"] = {**params["ensemble"], "monotone_views": monotone}
    build_models(splits["train"], splits["val"], params, tmp_path)
    predictor = Predictor.load(tmp_path / "ensemble")
    assert predictor.trees is not None
    inputs = predictor.tree_inputs([normalize_url(u) for u in splits["test"].raw])
    falls = 0
    for view in range(len(predictor.tree_input_names), inputs.shape[1]):
        raised = inputs.copy()
        raised[:, view] += 2.0
        falls += int(np.sum(predictor.trees.logits(raised) < predictor.trees.logits(inputs)))
    assert (falls == 0) == monotone
