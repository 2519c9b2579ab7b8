"""Classification metrics of P(phishing) scores: the keys of metrics.json."""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from lib_ml import NormalizedUrl

Scores = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int64]
_CLIP = 1e-15


def confusion(y_true: Labels, y_pred: Labels) -> list[list[int]]:
    """[[tn, fp], [fn, tp]] with phishing as the positive class."""
    tp = int(np.sum((y_true == 1) & (y_pred == 1)))
    fp = int(np.sum((y_true == 0) & (y_pred == 1)))
    fn = int(np.sum((y_true == 1) & (y_pred == 0)))
    tn = int(np.sum((y_true == 0) & (y_pred == 0)))
    return [[tn, fp], [fn, tp]]


def expected_calibration_error(y_true: Labels, y_score: Scores, bins: int = 15) -> float:
    """Weighted mean |accuracy - confidence| over equal-width probability bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(y_score, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.sum() * abs(float(y_true[members].mean() - y_score[members].mean()))
    return total / max(len(y_true), 1)


def _ratio(numerator: float, denominator: float) -> float | None:
    """None where the ratio is undefined: a score of nothing is not a score of 0."""
    return numerator / denominator if denominator else None


def _f1(tp: int, fp: int, fn: int) -> float | None:
    """2PR/(P+R), which is 2tp/(2tp+fp+fn): 0 when no phishing URL was caught but some URL was
    flagged or missed, even where precision or recall is undefined; undefined only on data
    without phishing URLs where none was flagged."""
    if tp == 0:
        return 0.0 if fp + fn else None
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall)


def classification_metrics(y_true: Labels, y_score: Scores, threshold: float) -> dict[str, Any]:
    """Precision is None when no URL is flagged, recall when the data holds no phishing URL,
    ROC AUC and PR AUC when it holds one class only (an Ebbu file does)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_score = np.asarray(y_score, dtype=np.float64)
    y_pred = (y_score >= threshold).astype(np.int64)
    (tn, fp), (fn, tp) = confusion(y_true, y_pred)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    both_classes = len(np.unique(y_true)) == 2
    clipped = np.clip(y_score, _CLIP, 1 - _CLIP)
    return {
        "n": len(y_true),
        "accuracy": _ratio(tp + tn, len(y_true)),
        "precision": precision,
        "recall": recall,
        "f1": _f1(tp, fp, fn),
        "roc_auc": float(roc_auc_score(y_true, y_score)) if both_classes else None,
        "pr_auc": float(average_precision_score(y_true, y_score)) if both_classes else None,
        "log_loss": float(-np.mean(y_true * np.log(clipped) + (1 - y_true) * np.log(1 - clipped))),
        "brier": float(np.mean((y_score - y_true) ** 2)),
        "ece": expected_calibration_error(y_true, y_score),
        "threshold": float(threshold),
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }


def best_f1_threshold(y_true: Labels, y_score: Scores) -> float:
    """The score threshold with the highest F1 (chosen on validation data, never on test)."""
    precision, recall, thresholds = precision_recall_curve(y_true, y_score)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def _length_bucket(url: NormalizedUrl) -> str:
    length = len(url.text)
    for limit, name in ((30, "<30"), (60, "30-59"), (100, "60-99")):
        if length < limit:
            return name
    return ">=100"


def _tld_group(url: NormalizedUrl) -> str:
    tld = url.host.rsplit(".", 1)[-1]
    if tld in {"com", "org", "net"}:
        return "com/org/net"
    if tld.isdigit():
        return "ip"
    return "country-code" if len(tld) == 2 else "other"


SLICES: dict[str, Callable[[NormalizedUrl], str]] = {
    "scheme": lambda url: url.scheme or "none",
    "url_length": _length_bucket,
    "tld_group": _tld_group,
}


def slice_metrics(
    urls: Sequence[NormalizedUrl], y_true: Labels, y_score: Scores, threshold: float
) -> dict[str, dict[str, dict[str, Any]]]:
    """Metrics per value of each slicing function (only the keys that make sense per slice)."""
    keep = ("n", "accuracy", "precision", "recall", "f1", "roc_auc")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for slice_name, key_of in SLICES.items():
        keys = np.array([key_of(url) for url in urls])
        out[slice_name] = {}
        for value in sorted(set(keys.tolist())):
            members = keys == value
            full = classification_metrics(y_true[members], y_score[members], threshold)
            out[slice_name][value] = {k: full[k] for k in keep} | {
                "phishing_share": float(y_true[members].mean())
            }
    return out
