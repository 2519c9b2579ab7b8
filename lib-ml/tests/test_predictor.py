"""The predictor over an ensemble whose trees are small enough to follow by hand, and the
reasons it gives for refusing an artifact whose parts do not fit together."""

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lib_ml import ArtifactError, BatchInputError, Predictor, read_artifact, write_artifact
from lib_ml.artifact import MANIFEST
from lib_ml.features import LEXICAL_FEATURES
from lib_ml.predictor import LINEAR_FILE, TLD_FILE, TREES_FILE
from lib_ml.scorers import TreeScorer, top_items
from lib_ml.urls import normalize_url

from .conftest import LEGITIMATE, PHISHING

LEXICAL = len(LEXICAL_FEATURES)
# One tree over the lexical features and two views (both the linear artifact's url view):
#   node 0 (value 0.1): url_length <= 30 ? leaf 1 (-0.5) : node 2
#   node 2 (value 0.6): first view's logit <= 0 ? leaf 3 (-1.0) : node 4
#   node 4 (value 1.0): second view's logit <= 0 ? leaf 5 (0.0) : leaf 6 (2.0)
# calibrated by the stacker 2 * logit + 0.1.
TREE = {
    "feature": np.array([0, -1, LEXICAL, -1, LEXICAL + 1, -1, -1], dtype=np.int32),
    "threshold": np.array([30.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
    "left": np.array([1, -1, 3, -1, 5, -1, -1], dtype=np.int32),
    "right": np.array([2, -1, 4, -1, 6, -1, -1], dtype=np.int32),
    "value": np.array([0.1, -0.5, 0.6, -1.0, 1.0, 0.0, 2.0]),
    "roots": np.array([0], dtype=np.int32),
}
SCALE, INTERCEPT = 2.0, 0.1
SHORT = "http://a.com/"  # url_length 6: leaf 1
# Per URL: the trees' logit and the path contributions of url_length and of the two views.
PATHS = {
    SHORT: (-0.5, -0.6, 0.0, 0.0),
    PHISHING[0]: (2.0, 0.5, 0.4, 1.0),  # leaf 6
    LEGITIMATE[4]: (-1.0, 0.5, -1.6, 0.0),  # leaf 3
}


@pytest.fixture
def by_hand(artifacts: Path, tmp_path: Path) -> Predictor:
    """An ensemble with no TLD prior: the trees above over the linear model's url view."""
    linear = read_artifact(artifacts / "linear")
    manifest = {k: v for k, v in linear.manifest.items() if k not in ("files", "format_version")}
    view = {"file": LINEAR_FILE, "ngram": manifest["featurizer"]["ngram"]}
    write_artifact(
        tmp_path / "by-hand",
        {**manifest, "name": "by-hand", "family": "ensemble",
         "featurizer": {"lexical": list(LEXICAL_FEATURES), "views": [view, view]},
         "stacker": {"coef": [SCALE], "intercept": INTERCEPT}},
        {LINEAR_FILE: linear.weights[LINEAR_FILE],
         TREES_FILE: TreeScorer.from_node_arrays(TREE, n_features=LEXICAL + 2).to_arrays()},
    )  # fmt: skip
    return Predictor.load(tmp_path / "by-hand")


def test_an_ensemble_without_a_tld_prior_feeds_lexical_features_and_view_logits(
    by_hand: Predictor,
) -> None:
    assert by_hand.tld_prior is None
    assert by_hand.tree_input_names == LEXICAL_FEATURES
    urls = [normalize_url(u) for u in PATHS]
    inputs = by_hand.tree_inputs(urls)
    assert inputs.dtype == np.float32
    assert inputs.shape == (len(urls), LEXICAL + 2)
    view_logits = by_hand.views[0].logits(urls).astype(np.float32)
    np.testing.assert_array_equal(inputs[:, LEXICAL:], np.column_stack([view_logits] * 2))
    # The URLs take the paths above.
    assert inputs[:, 0].tolist() == [6, len(urls[1].text), len(urls[2].text)]
    assert inputs[0, 0] <= 30 < min(inputs[1:, 0])
    assert view_logits[1] > 0 >= view_logits[2]
    expected = [SCALE * logit + INTERCEPT for logit, *_ in PATHS.values()]
    np.testing.assert_allclose(by_hand.logits_normalized(urls), expected, rtol=1e-12)


def expected_explanation(
    predictor: Predictor, url: str, top_k: int
) -> list[tuple[str, str, float]]:
    """By the definition: url_length's path contribution and each view's, passed on to the
    view's n-grams in proportion to their shares of its logit, all scaled by the stacker."""
    _, url_length, *view_shares = PATHS[url]
    normalized = normalize_url(url)
    view = predictor.views[0]
    # The trees read the view's logit as float32.
    ngram_sum = float(np.float32(view.logits([normalized])[0])) - view.intercept
    totals = {("url_length", "lexical"): SCALE * url_length} if url_length else {}
    if any(view_shares):  # a view on no path passes nothing on
        for c in view.explain(normalized, top_k):
            totals[(c.feature, "ngram")] = sum(
                SCALE * share / ngram_sum * c.weight for share in view_shares
            )
    return [(name, kind, weight) for (name, kind), weight in top_items(totals, top_k)]


@pytest.mark.parametrize("url", list(PATHS))
def test_an_ensemble_explains_by_path_contributions_passed_on_to_ngrams(
    by_hand: Predictor, url: str
) -> None:
    expected = expected_explanation(by_hand, url, top_k=4)
    (explained,) = by_hand.explain_batch([normalize_url(url)], top_k=4)
    (predicted,) = by_hand.predict([url], explain_top_k=4)
    for explanation in (explained, predicted.explanation):
        assert [(c.feature, c.kind) for c in explanation] == [(n, k) for n, k, _ in expected]
        np.testing.assert_allclose(
            [c.weight for c in explanation], [w for _, _, w in expected], rtol=1e-9
        )
    if url == SHORT:  # the views are on no path: the named share alone, no zero shares
        assert [c.feature for c in explained] == ["url_length"]
        assert explained[0].weight == pytest.approx(-1.2)


def test_gbm_explanations_are_the_largest_path_contributions(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "gbm")
    assert predictor.trees is not None
    urls = PHISHING[:2] + LEGITIMATE[:2]
    contributions = predictor.trees.contributions(predictor.tree_inputs(
        [normalize_url(u) for u in urls]
    ))  # fmt: skip
    for url, row, prediction in zip(
        urls, contributions.tolist(), predictor.predict(urls, explain_top_k=3), strict=True
    ):
        shares = {name: share for name, share in zip(LEXICAL_FEATURES, row, strict=True) if share}
        expected = [(name, "lexical", share) for name, share in top_items(shares, 3)]
        assert [(c.feature, c.kind, c.weight) for c in prediction.explanation] == expected, url


@pytest.mark.parametrize("family", ["linear", "by-hand"])
@pytest.mark.parametrize("explain_top_k", [0, 3])
def test_predictions_with_repair_are_the_repaired_probabilities(
    artifacts: Path, by_hand: Predictor, family: str, explain_top_k: int
) -> None:
    predictor = by_hand if family == "by-hand" else Predictor.load(artifacts / family)
    # 30 characters: its rewrite with a trailing slash is longer than url_length's split.
    urls = ["http://login.example-site.com/abcdefg", PHISHING[1]]
    repaired = predictor.predict_proba(urls, repair=True)
    assert not np.allclose(repaired, predictor.predict_proba(urls))
    predictions = predictor.predict(urls, explain_top_k, repair=True)
    assert [p.probability for p in predictions] == repaired.tolist()
    assert all(bool(p.explanation) == bool(explain_top_k) for p in predictions)


def test_predictions_are_unexplained_unless_asked(by_hand: Predictor) -> None:
    assert [p.explanation for p in by_hand.predict(list(PATHS))] == [[], [], []]


def test_a_bad_item_is_named_with_its_reason(by_hand: Predictor) -> None:
    with pytest.raises(BatchInputError, match=r"^item 1: the URL is empty$") as caught:
        by_hand.predict(["https://a.com/", "   "])
    assert caught.value.reason == "the URL is empty"


def _drop_tld_weights(manifest: dict[str, Any], directory: Path) -> None:
    manifest["files"].pop(TLD_FILE)
    (directory / TLD_FILE).unlink()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m, _: m["featurizer"].update(views=[]), "an ensemble needs at least one view"),
        (
            lambda m, _: m["featurizer"]["lexical"].reverse(),
            "the artifact's lexical features differ from this lib-ml's",
        ),
        (
            lambda m, _: m["stacker"].update(coef=[0.8, 0.2]),
            "the ensemble's stacker calibrates one input, the trees' logit",
        ),
        (_drop_tld_weights, "the artifact has no tld.npz"),
    ],
    ids=["no view", "other lexical features", "two stacker inputs", "no tld prior weights"],
)
def test_an_ensemble_whose_parts_do_not_fit_is_refused(
    artifacts: Path, tmp_path: Path, edit: Callable[[dict[str, Any], Path], None], message: str
) -> None:
    directory = Path(shutil.copytree(artifacts / "ensemble", tmp_path / "ensemble"))
    manifest = json.loads((directory / MANIFEST).read_text())
    edit(manifest, directory)
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$"):
        Predictor.load(directory)


def test_retrained_trees_are_not_shared_with_the_old_ones(artifacts: Path, tmp_path: Path) -> None:
    gbm = Predictor.load(artifacts / "gbm")
    artifact = read_artifact(artifacts / "gbm")
    arrays = dict(artifact.weights[TREES_FILE])
    arrays["value"] = arrays["value"] * 2.0
    write_artifact(tmp_path / "gbm", artifact.manifest, {TREES_FILE: arrays})
    retrained = Predictor.load(tmp_path / "gbm")
    assert retrained.trees is not gbm.trees
    assert retrained.trees is not None
    assert gbm.trees is not None
    np.testing.assert_array_equal(retrained.trees.value, gbm.trees.value * 2.0)
    X = gbm.tree_inputs([normalize_url(u) for u in PHISHING])
    np.testing.assert_allclose(retrained.trees.logits(X), 2.0 * gbm.trees.logits(X))
