"""The scorers on weights small enough to work out by hand: logits, explanations (their
ranking, repeated n-grams and words, ties), tree outputs and Saabas path contributions, and
the messages that refuse malformed weights."""

import math
import re
import zlib
from typing import Any

import numpy as np
import pytest

from lib_ml import ArtifactError
from lib_ml.features import NgramConfig, hash_entries, hash_words
from lib_ml.scorers import (
    LinearScorer,
    NgramBatch,
    Stacker,
    TldPrior,
    TreeScorer,
    WordBatch,
    sigmoid,
    top_label,
)
from lib_ml.urls import normalize_url

INTERCEPT = 0.5


def linear_scorer(config: NgramConfig, weights: dict[int, tuple[float, float]]) -> LinearScorer:
    """A scorer whose buckets have the given (idf, coef); every other bucket weighs nothing."""
    idf = np.zeros(config.n_features, dtype=np.float32)
    coef = np.zeros(config.n_features, dtype=np.float32)
    for bucket, (bucket_idf, bucket_coef) in weights.items():
        idf[bucket], coef[bucket] = bucket_idf, bucket_coef
    return LinearScorer(config, coef, INTERCEPT, idf)


def byte_bucket(gram: str, config: NgramConfig) -> int:
    return int(hash_entries([gram], config).buckets(config)[0, len(gram) - config.ngram_min])


Cases = dict[str, tuple[float, list[tuple[str, float]]]]


def assert_ranked(ranked: list[list[tuple[str, float]]], cases: Cases, top_k: int) -> None:
    for (text, (_, expected)), explanation in zip(cases.items(), ranked, strict=True):
        assert [name for name, _ in explanation] == [name for name, _ in expected[:top_k]], text
        np.testing.assert_allclose(
            [share for _, share in explanation], [share for _, share in expected[:top_k]]
        )


# "a" weighs 2 * 3 per occurrence and "b" 1 * -3; "z" has idf 0, and "" holds no n-gram
# (as a text shorter than ngram_min). Per text: (logit - intercept, explanation).
BYTES = NgramConfig(1, 1, 8)
BYTE_CASES: Cases = {
    # one n-gram three times: dot 18, squares 12
    "aaa": (18 / math.sqrt(12), [("url:a", 18 / math.sqrt(12))]),
    # dot 2*3 + 3*(1*-3) = -3, squares 2**2 + 3*1**2 = 7
    "abbb": (-3 / math.sqrt(7), [("url:b", -9 / math.sqrt(7)), ("url:a", 6 / math.sqrt(7))]),
    "b": (-3.0, [("url:b", -3.0)]),  # a norm of exactly 1
    "z": (0.0, []),
    "": (0.0, []),
}


@pytest.fixture
def byte_scorer() -> LinearScorer:
    buckets = {gram: byte_bucket(gram, BYTES) for gram in "abz"}
    assert len(set(buckets.values())) == 3
    return linear_scorer(
        BYTES, {buckets["a"]: (2.0, 3.0), buckets["b"]: (1.0, -3.0), buckets["z"]: (0.0, 5.0)}
    )


def test_byte_ngrams_score_their_normalized_row(byte_scorer: LinearScorer) -> None:
    texts = list(BYTE_CASES)
    batch = NgramBatch(len(texts), hash_entries(texts, BYTES), 1)
    expected = [INTERCEPT + logit for logit, _ in BYTE_CASES.values()]
    np.testing.assert_allclose(byte_scorer.logits_of(batch), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("top_k", [1, 2, 5])
def test_byte_ngrams_are_explained_by_absolute_share_each_once(
    byte_scorer: LinearScorer, top_k: int
) -> None:
    texts = list(BYTE_CASES)
    ranked = byte_scorer.ranked(NgramBatch(len(texts), hash_entries(texts, BYTES), 1), top_k)
    assert_ranked(ranked, BYTE_CASES, top_k)


WORDS = NgramConfig(hash_bits=8, view="words")
# "a" weighs 1 * 2 per occurrence, "b" 2 * -1 and "c" nothing (idf 0); "" has no word.
WORD_CASES: Cases = {
    # dot 2 - 2 + 2, squares 1 + 4 + 1: "a" counts once with both its shares
    "a\nb\na": (2 / math.sqrt(6), [("words:a", 4 / math.sqrt(6)), ("words:b", -2 / math.sqrt(6))]),
    # a tie of absolute shares keeps the order in which the words come
    "b\na": (0.0, [("words:b", -2 / math.sqrt(5)), ("words:a", 2 / math.sqrt(5))]),
    "a\nb": (0.0, [("words:a", 2 / math.sqrt(5)), ("words:b", -2 / math.sqrt(5))]),
    "c": (0.0, []),
    "": (0.0, []),
}


@pytest.fixture
def word_scorer() -> LinearScorer:
    buckets = {word: zlib.crc32(word.encode()) & (WORDS.n_features - 1) for word in "abc"}
    assert len(set(buckets.values())) == 3
    return linear_scorer(
        WORDS, {buckets["a"]: (1.0, 2.0), buckets["b"]: (2.0, -1.0), buckets["c"]: (0.0, 4.0)}
    )


@pytest.mark.parametrize("top_k", [1, 2, 5])
def test_words_score_and_explain_by_hand(word_scorer: LinearScorer, top_k: int) -> None:
    texts = list(WORD_CASES)
    batch = WordBatch(texts, *hash_words(texts, WORDS))
    expected_logits = [INTERCEPT + logit for logit, _ in WORD_CASES.values()]
    np.testing.assert_allclose(word_scorer.logits_of(batch), expected_logits, rtol=1e-12)
    ranked = word_scorer.ranked(batch, top_k)
    assert_ranked(ranked, WORD_CASES, top_k)


def test_a_url_without_an_ngram_of_the_view_scores_the_intercept_and_explains_nothing() -> None:
    config = NgramConfig(3, 4, 8, view="path")
    scorer = LinearScorer(
        config,
        np.ones(config.n_features, dtype=np.float32),
        INTERCEPT,
        np.ones(config.n_features, dtype=np.float32),
    )
    # The second URL's path view, "/", is shorter than any n-gram.
    urls = [normalize_url("http://a.com/login"), normalize_url("http://b.com")]
    assert scorer.logits(urls)[1] == INTERCEPT
    explained = scorer.explain_batch(urls, top_k=3)
    assert len(explained[0]) == 3
    assert explained[1] == []


def test_ngrams_that_cut_a_character_are_named_by_their_loose_bytes() -> None:
    config = NgramConfig(1, 2, 12, view="path")
    scorer = LinearScorer(
        config,
        np.ones(config.n_features, dtype=np.float32),
        0.0,
        np.ones(config.n_features, dtype=np.float32),
    )
    # "/äö" is the bytes / c3 a4 c3 b6: each n-gram but "ä", "ö" and "/" cuts a character.
    explanation = scorer.explain(normalize_url("http://a.com/\u00e4\u00f6"), top_k=20)
    assert sorted(c.feature for c in explanation) == sorted([
        "path:/", "path:\u00e4", "path:\u00f6", "path:/\\xc3",
        "path:\\xc3", "path:\\xa4", "path:\\xb6", "path:\\xa4\\xc3",
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("coef_size", "idf_size"), [(4, 3), (3, 4)], ids=["idf too short", "coef too short"]
)
def test_linear_weights_of_another_size_are_refused(coef_size: int, idf_size: int) -> None:
    message = (
        f"linear weights have shape ({coef_size},)/({idf_size},), expected (4,) for hash_bits=2"
    )
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$"):
        LinearScorer(
            NgramConfig(hash_bits=2),
            np.ones(coef_size, dtype=np.float32),
            0.0,
            np.ones(idf_size, dtype=np.float32),
        )


@pytest.mark.parametrize(
    "intercept", [np.array([]), np.array(0.5), np.array([0.5, 0.5])], ids=["empty", "0-d", "two"]
)
def test_linear_intercepts_of_another_shape_are_refused(intercept: np.ndarray) -> None:
    arrays = {"coef": np.ones(4, dtype=np.float32), "idf": np.ones(4, dtype=np.float32)}
    message = f"the linear intercept has shape {intercept.shape}, expected (1,)"
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$"):
        LinearScorer.from_arrays(NgramConfig(hash_bits=2), {**arrays, "intercept": intercept})


def test_linear_weights_round_trip_through_their_arrays() -> None:
    config = NgramConfig(hash_bits=2)
    coef, idf = np.array([1.0, -2.0, 0.5, 0.0], dtype=np.float32), np.arange(4, dtype=np.float32)
    scorer = LinearScorer(config, coef, -1.25, idf)
    arrays = scorer.to_arrays()
    assert sorted(arrays) == ["coef", "idf", "intercept"]
    again = LinearScorer.from_arrays(config, arrays)
    assert again.intercept == -1.25
    np.testing.assert_array_equal(again.coef, [1.0, -2.0, 0.5, 0.0])
    np.testing.assert_array_equal(again.idf, [0.0, 1.0, 2.0, 3.0])
    with pytest.raises(ArtifactError, match=r"^linear weights lack the array 'idf'$"):
        LinearScorer.from_arrays(config, {"coef": arrays["coef"], "intercept": arrays["intercept"]})


# Three trees over three features (the last never split on), in pre-order:
#   tree 0: a single leaf, 0.25
#   tree 1: node 1 (value 0.2) x1 <= 0.5 ? node 2 : leaf 5 (1.0)
#           node 2 (value -0.3) x0 <= 2.0 ? leaf 3 (-1.0) : leaf 4 (0.5)
#   tree 2: node 6 (value 0.1) x0 <= 1.0 ? node 7 : leaf 10 (-0.4)
#           node 7 (value 0.3) x0 <= 0.0 ? leaf 8 (0.6) : leaf 9 (-0.2)
TREE_ARRAYS: dict[str, np.ndarray] = {
    "feature": np.array([-1, 1, 0, -1, -1, -1, 0, 0, -1, -1, -1], dtype=np.int32),
    "threshold": np.array([0.0, 0.5, 2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
    "left": np.array([-1, 2, 3, -1, -1, -1, 7, 8, -1, -1, -1], dtype=np.int32),
    "right": np.array([-1, 5, 4, -1, -1, -1, 10, 9, -1, -1, -1], dtype=np.int32),
    "value": np.array([0.25, 0.2, -0.3, -1.0, 0.5, 1.0, 0.1, 0.3, 0.6, -0.2, -0.4]),
    "roots": np.array([0, 1, 6], dtype=np.int32),
}


def _leaf(value: float) -> dict[str, Any]:
    return {"leaf_value": value}


def _split(feature: int, threshold: float, value: float, left: Any, right: Any) -> dict[str, Any]:
    return {
        "split_feature": feature, "threshold": threshold, "decision_type": "<=",
        "internal_value": value, "left_child": left, "right_child": right,
    }  # fmt: skip


# The same trees as LightGBM's `Booster.dump_model()` writes them.
TREE_DUMP = {
    "max_feature_idx": 2,
    "tree_info": [
        {"tree_structure": _leaf(0.25)},
        {"tree_structure": _split(1, 0.5, 0.2, _split(0, 2.0, -0.3, _leaf(-1.0), _leaf(0.5)), _leaf(1.0))},
        {"tree_structure": _split(0, 1.0, 0.1, _split(0, 0.0, 0.3, _leaf(0.6), _leaf(-0.2)), _leaf(-0.4))},
    ],
}  # fmt: skip
# Rows (float64: the scorer hands ONNX float32 itself), their logits and their path
# contributions per feature, each the sum over the splits passed of child minus parent value.
TREE_ROWS = [
    # leaves 3 and 8: x1 -0.5; x0 -0.7 in tree 1, 0.2 + 0.3 in tree 2
    ([0.0, 0.0, 9.0], 0.25 - 1.0 + 0.6, [-0.7 + 0.5, -0.5, 0.0]),
    # every comparison at its threshold goes left (<=): leaves 3 and 10
    ([2.0, 0.5, 0.0], 0.25 - 1.0 - 0.4, [-0.7 - 0.5, -0.5, 0.0]),
    ([3.0, 0.0, 0.0], 0.25 + 0.5 - 0.4, [0.8 - 0.5, -0.5, 0.0]),  # leaves 4 and 10
    ([0.5, 1.0, 0.0], 0.25 + 1.0 - 0.2, [0.2 - 0.5, 0.8, 0.0]),  # leaves 5 and 9
]


@pytest.mark.parametrize(
    "build",
    [
        lambda: TreeScorer.from_node_arrays(TREE_ARRAYS, n_features=3),
        lambda: TreeScorer.from_lightgbm_dump(TREE_DUMP),
    ],
    ids=["node arrays", "lightgbm dump"],
)
def test_trees_score_and_share_their_logit_by_hand(build: Any) -> None:
    trees = build()
    X = np.array([row for row, _, _ in TREE_ROWS])
    logits, contributions = trees.logits_and_contributions(X)
    np.testing.assert_allclose(logits, [logit for _, logit, _ in TREE_ROWS], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        contributions, [shares for _, _, shares in TREE_ROWS], rtol=0, atol=1e-12
    )
    np.testing.assert_array_equal(trees.logits(X.astype(np.float32)), logits)


def test_a_lightgbm_dump_flattens_into_the_node_arrays() -> None:
    arrays = TreeScorer.from_lightgbm_dump(TREE_DUMP).to_arrays()
    assert arrays.pop("onnx").dtype == np.uint8
    assert sorted(arrays) == sorted(TREE_ARRAYS)
    for key, expected in TREE_ARRAYS.items():
        np.testing.assert_array_equal(arrays[key], expected, strict=True, err_msg=key)


def test_splits_other_than_less_or_equal_are_refused() -> None:
    dump = {"max_feature_idx": 0, "tree_info": [{"tree_structure": {
        **_split(0, 1.0, 0.0, _leaf(1.0), _leaf(2.0)), "decision_type": "=="
    }}]}  # fmt: skip
    with pytest.raises(ArtifactError, match=r"^unsupported split '=='$"):
        TreeScorer.from_lightgbm_dump(dump)


def test_a_split_on_a_feature_beyond_the_inputs_is_refused() -> None:
    feature = TREE_ARRAYS["feature"].copy()
    feature[1] = 3  # of features 0..2
    arrays = {**TREE_ARRAYS, "feature": feature}
    with pytest.raises(
        ArtifactError, match=r"^a tree splits on a feature the featurizer does not produce$"
    ):
        TreeScorer.from_node_arrays(arrays, n_features=3)


def test_tree_weights_without_their_onnx_model_are_refused() -> None:
    with pytest.raises(ArtifactError, match=r"^tree weights lack the arrays \['onnx'\]$"):
        TreeScorer(TREE_ARRAYS, n_features=3)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"labels": np.array(["com"]), "rates": np.array([0.1])}, "TLD prior lacks the arrays ['log_shares', 'default']"),
        ({"labels": np.array(["com", "tk"]), "rates": np.array([0.1]), "log_shares": np.array([1.0]),
          "default": np.array([0.5, 0.0])}, "the TLD prior's arrays differ in length"),
        ({"labels": np.array(["com"]), "rates": np.array([0.1]), "log_shares": np.array([1.0]),
          "default": np.array([0.5])}, "the TLD prior's default holds one value per feature"),
    ],
    ids=["incomplete", "lengths differ", "short default"],
)  # fmt: skip
def test_malformed_tld_priors_are_refused(arrays: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$"):
        TldPrior(arrays)


@pytest.mark.parametrize(
    ("host", "label"), [("a.b.tk", "tk"), ("10.0.0.1", "1"), ("localhost", "localhost")]
)
def test_the_top_label_is_the_hosts_last(host: str, label: str) -> None:
    assert top_label(host) == label


def test_the_stacker_weighs_each_member_and_adds_its_intercept() -> None:
    stacker = Stacker((2.0, -0.5), 0.25)
    members = [np.array([1.0, -2.0]), np.array([4.0, 0.0])]
    np.testing.assert_array_equal(stacker.logits(members), [0.25 + 2.0 - 2.0, 0.25 - 4.0])
    with pytest.raises(ValueError, match="zip"):
        stacker.logits(members[:1])
    assert stacker.to_dict() == {"coef": [2.0, -0.5], "intercept": 0.25}
    assert Stacker.from_dict(stacker.to_dict()) == stacker


def test_sigmoid_turns_log_odds_into_probabilities() -> None:
    logits = np.array([0.0, math.log(3.0), -math.log(3.0), math.log(9.0)])
    np.testing.assert_allclose(sigmoid(logits), [0.5, 0.75, 0.25, 0.9], rtol=1e-12)
