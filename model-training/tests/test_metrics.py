import numpy as np
import pytest

from lib_ml import normalize_url
from model_training.metrics import (
    best_f1_threshold,
    classification_metrics,
    expected_calibration_error,
    slice_metrics,
)

Y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
S = np.array([0.9, 0.8, 0.3, 0.6, 0.2, 0.1, 0.4, 0.7])


def test_metrics_against_hand_computed_values() -> None:
    m = classification_metrics(Y, S, threshold=0.5)
    # predicted positive: 0.9 0.8 0.6 0.7 -> tp=3 (0.9, 0.8, 0.7), fp=1 (0.6); fn=1 (0.3); tn=3
    assert m["confusion_matrix"] == [[3, 1], [1, 3]]
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["recall"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(3 / 4)
    # ROC AUC: of 16 positive/negative pairs, the positive scores higher in 14 (0.3 loses to 0.6, 0.4)
    assert m["roc_auc"] == pytest.approx(14 / 16)
    # PR AUC (average precision): the recall steps of 1/4 come at the positives ranked 1, 2, 3
    # (precision 1 each) and 6 (4 of 6 flagged are phishing): (1 + 1 + 1 + 2/3) / 4.
    assert m["pr_auc"] == pytest.approx(11 / 12)
    assert m["brier"] == pytest.approx(np.mean((S - Y) ** 2))
    expected_log_loss = -np.mean(Y * np.log(S) + (1 - Y) * np.log(1 - S))
    assert m["log_loss"] == pytest.approx(expected_log_loss)
    assert m["threshold"] == 0.5


def test_perfect_and_inverted_scores() -> None:
    perfect = classification_metrics(Y, Y.astype(float), 0.5)
    assert (perfect["f1"], perfect["roc_auc"], perfect["brier"]) == (1.0, 1.0, 0.0)
    inverted = classification_metrics(Y, 1.0 - Y, 0.5)
    assert (inverted["f1"], inverted["roc_auc"], inverted["accuracy"]) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("y_true", "y_score", "expected"),
    [
        # No phishing URL: recall is undefined; the one flagged URL is wrong, so precision and
        # F1 (2tp / (2tp + fp + fn)) are 0.
        ([0, 0], [0.1, 0.7], {"precision": 0.0, "recall": None, "f1": 0.0, "accuracy": 0.5}),
        # No phishing URL and none flagged: nothing to score but accuracy.
        ([0, 0], [0.1, 0.2], {"precision": None, "recall": None, "f1": None, "accuracy": 1.0}),
        # Phishing only, none flagged: precision is undefined, every one missed.
        ([1, 1], [0.1, 0.2], {"precision": None, "recall": 0.0, "f1": 0.0, "accuracy": 0.0}),
        ([1, 1], [0.1, 0.7], {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "accuracy": 0.5}),
        # Both classes, nothing flagged.
        ([1, 0], [0.1, 0.2], {"precision": None, "recall": 0.0, "f1": 0.0, "accuracy": 0.5}),
    ],
)
def test_undefined_ratios_are_none_not_zero(
    y_true: list[int], y_score: list[float], expected: dict[str, float | None]
) -> None:
    m = classification_metrics(np.array(y_true), np.array(y_score), 0.5)
    assert {key: m[key] for key in expected} == pytest.approx(expected)
    assert (m["roc_auc"] is None, m["pr_auc"] is None) == ((len(set(y_true)) == 1,) * 2)


@pytest.mark.parametrize(
    ("y_true", "y_score", "expected"),
    [
        # Tied scores: the tied pair counts 1/2 in ROC AUC, (1 + 1 + 1/2 + 1) / 4; both 0.5s are
        # flagged together, so PR AUC is 1/2 * 1 (the 0.8) + 1/2 * 2/3 (the two 0.5s).
        ([1, 1, 0, 0], [0.8, 0.5, 0.5, 0.2], {"roc_auc": 3.5 / 4, "pr_auc": 5 / 6}),
        ([1, 0], [0.5, 0.5], {"roc_auc": 0.5, "pr_auc": 0.5, "accuracy": 0.5}),
        # A score of 0 for a phishing URL is clipped to 1e-15: log loss (ln(1e15) + ~0) / 2 stays
        # finite; Brier is (1 + 0) / 2.
        ([1, 0], [0.0, 0.0], {"log_loss": 7.5 * np.log(10), "brier": 0.5}),
        ([1, 0], [1.0, 0.0], {"log_loss": 0.0, "brier": 0.0, "ece": 0.0}),
    ],
)
def test_ties_and_extreme_scores_by_hand(
    y_true: list[int], y_score: list[float], expected: dict[str, float]
) -> None:
    m = classification_metrics(np.array(y_true), np.array(y_score), 0.5)
    assert {key: m[key] for key in expected} == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("y_true", "y_score", "bins", "expected"),
    [
        # One bin (0.8 confidence) with 3 of 4 positive: |0.75 - 0.8| = 0.05.
        ([1, 1, 1, 0], [0.8] * 4, None, 0.05),
        ([1, 0], [1.0, 0.0], None, 0.0),
        # One prediction: |1 - 0.8|.
        ([1], [0.8], None, 0.2),
        # Two bins, [0, 0.5] and (0.5, 1]: 0.5 belongs to the lower one. Lower: accuracy 1/2,
        # confidence 0.35; upper: accuracy 1/2, confidence 0.8. (2 * 0.15 + 2 * 0.3) / 4.
        ([0, 1, 1, 0], [0.2, 0.5, 0.7, 0.9], 2, 0.225),
        # The default 15 bins of width 1/15: 0.05 | 0.10 | 0.30 and 0.33 together | 0.90 | 0.96
        # (16 bins would part 0.30 and 0.33 at 0.3125). Bins 0 and 1 or 13 and 14 stay apart:
        # (0.95 + 0.10 + 2 * |0.5 - 0.315| + 0.90 + 0.04) / 6.
        ([1, 0, 1, 0, 0, 1], [0.05, 0.10, 0.30, 0.33, 0.90, 0.96], None, 2.36 / 6),
    ],
)
def test_ece_by_hand(
    y_true: list[int], y_score: list[float], bins: int | None, expected: float
) -> None:
    y, s = np.array(y_true), np.array(y_score)
    if bins is None:  # the default, which classification_metrics reports
        assert expected_calibration_error(y, s) == pytest.approx(expected)
        assert classification_metrics(y, s, 0.5)["ece"] == pytest.approx(expected)
    else:
        assert expected_calibration_error(y, s, bins=bins) == pytest.approx(expected)


def test_best_threshold_maximizes_f1() -> None:
    threshold = best_f1_threshold(Y, S)
    f1_best = classification_metrics(Y, S, threshold)["f1"]
    for candidate in np.unique(S):
        assert classification_metrics(Y, S, float(candidate))["f1"] <= f1_best + 1e-12


@pytest.mark.parametrize(
    ("y_true", "threshold"),
    [
        # F1 = 2tp / (2tp + fp + fn). Flagging >= 0.6 catches one of two with one false alarm:
        # 2/4; everything: 4/9; >= 0.5: 2/5; >= 0.7: 0.
        ([1, 0, 0, 0, 0, 1, 0], 0.6),
        # Best F1 below 1/2 (with precision + recall < 1): >= 0.7 gives 2/5, everything 4/11.
        ([1, 0, 0, 0, 0, 0, 1, 0, 0], 0.7),
        # The highest score alone: F1 1.
        ([0, 0, 1], 0.3),
    ],
)
def test_best_threshold_by_hand(y_true: list[int], threshold: float) -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9][: len(y_true)])
    assert best_f1_threshold(np.array(y_true), scores) == pytest.approx(threshold)


def test_slices() -> None:
    urls = [
        normalize_url(u)
        for u in ("http://a.com", "https://b.de/" + "x" * 120, "c.org", "1.2.3.4/a")
    ]
    y = np.array([1, 0, 0, 1])
    slices = slice_metrics(urls, y, np.array([0.9, 0.2, 0.4, 0.6]), 0.5)
    assert set(slices["scheme"]) == {"http", "https", "none"}
    assert set(slices["url_length"]) == {"<30", ">=100"}
    assert set(slices["tld_group"]) == {"com/org/net", "country-code", "ip"}
    assert slices["tld_group"]["ip"]["phishing_share"] == 1.0
    assert slices["tld_group"]["ip"]["roc_auc"] is None  # one label: no ranking to score
    # A slice without phishing URLs, none flagged: its F1 is undefined, not 0.
    https = slices["scheme"]["https"]
    assert (https["precision"], https["recall"], https["f1"], https["accuracy"]) == (
        None, None, None, 1.0,
    )  # fmt: skip


def test_slice_boundaries() -> None:
    # URL lengths (of the normalized text, without http://) at each bucket's edges, and TLDs of
    # each group, a host without a dot among them.
    lengths = (29, 30, 59, 60, 99, 100)
    urls = [normalize_url("a.com/" + "x" * (n - 6)) for n in lengths]
    assert [len(url.text) for url in urls] == list(lengths)
    hosts = ("a.net", "b.info", "c.uk", "localhost", "10.0.0.1", "d.org")
    urls = [normalize_url(f"http://{host}/") for host in hosts] + urls
    y = np.array([0, 1] * 6)
    slices = slice_metrics(urls, y, np.full(12, 0.5), 0.5)
    assert {key: value["n"] for key, value in slices["url_length"].items()} == {
        "<30": 7, "30-59": 2, "60-99": 2, ">=100": 1,
    }  # fmt: skip
    assert {key: value["n"] for key, value in slices["tld_group"].items()} == {
        "com/org/net": 8, "other": 2, "country-code": 1, "ip": 1,
    }  # fmt: skip
