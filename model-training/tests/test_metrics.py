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


def test_ece_by_hand() -> None:
    # One bin (0.8 confidence) with 3 of 4 positive: |0.75 - 0.8| = 0.05.
    assert expected_calibration_error(np.array([1, 1, 1, 0]), np.full(4, 0.8)) == pytest.approx(
        0.05
    )
    assert expected_calibration_error(np.array([1, 0]), np.array([1.0, 0.0])) == pytest.approx(0.0)


def test_best_threshold_maximizes_f1() -> None:
    threshold = best_f1_threshold(Y, S)
    f1_best = classification_metrics(Y, S, threshold)["f1"]
    for candidate in np.unique(S):
        assert classification_metrics(Y, S, float(candidate))["f1"] <= f1_best + 1e-12


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
    # A slice without phishing URLs, none flagged: its F1 is undefined, not 0.
    https = slices["scheme"]["https"]
    assert (https["precision"], https["recall"], https["f1"], https["accuracy"]) == (
        None, None, None, 1.0,
    )  # fmt: skip
