"""What the URL scheme would add to a model, and what it would cost.

The models ignore the scheme (`lib_ml.urls`): in public corpora `https` marks legitimate URLs
(far more legitimate than phishing URLs use it in Ebbu2017 and in the DL Dataset sample; the
report gives each label's share), while live phishing is mostly served over https. This report
measures that choice: it fits one scheme term on top of a model's logit (a logistic regression
of the label on the logit and "is https"), chooses that scorer's threshold by F1 as training
does, and compares both scorers on the test split and on external labelled sets, as they are
and with every phishing URL moved to https.

The term is fitted on the test split, the one split no model has learned from (the served
models are refitted on train + val, where their logits are too confident to calibrate on):
the test URLs are scored by terms fitted on the other half of the split (two halves grouped
by registered domain), the external sets by the term fitted on all of it.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from lib_ml import LABEL_MAP, LABELS, Predictor
from lib_ml.predictor import normalize_batch
from lib_ml.scorers import sigmoid
from model_training.config import Paths, project_root
from model_training.evaluate import held_out_sets, write_json
from model_training.metrics import best_f1_threshold
from model_training.sources import Example, label_array
from model_training.train import domain_folds

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def on_https(url: str) -> str:
    """The same URL served over https (a scheme-less URL gains one)."""
    return "https://" + _SCHEME.sub("", url.strip(), count=1)


def phishing_on_https(examples: Sequence[Example]) -> list[Example]:
    """The set with every phishing URL moved to https, legitimate URLs unchanged."""
    return [Example(on_https(e.url), e.label) if e.label else e for e in examples]


@dataclass(frozen=True)
class SchemeTerm:
    """P(phishing) = sigmoid(logit_weight * model logit + https_weight * is_https + bias)."""

    logit_weight: float
    https_weight: float
    bias: float
    threshold: float

    @classmethod
    def fit(
        cls, logits: npt.NDArray[np.float64], https: npt.NDArray[np.bool_], y: npt.NDArray[Any]
    ) -> "SchemeTerm":
        # Nearly unregularized: two inputs, thousands of rows.
        fitted = LogisticRegression(C=1e4, random_state=0).fit(np.column_stack([logits, https]), y)
        logit_weight, https_weight = (float(w) for w in fitted.coef_[0])
        term = cls(logit_weight, https_weight, float(fitted.intercept_[0]), threshold=0.5)
        return replace(term, threshold=best_f1_threshold(y, term.scores(logits, https)))

    def scores(
        self, logits: npt.NDArray[np.float64], https: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        return sigmoid(self.logit_weight * logits + self.https_weight * https + self.bias)


def model_columns(
    predictor: Predictor, examples: Sequence[Example]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    normalized = normalize_batch([e.url for e in examples])
    logits = predictor.logits_normalized(normalized)
    https = np.array([u.scheme == "https" for u in normalized], dtype=bool)
    return logits, https, label_array(examples)


def _share(flags: npt.NDArray[np.bool_]) -> float | None:
    """The share of true flags; None for no flags (a set without URLs of that label)."""
    return float(flags.mean()) if flags.size else None


def _outcome(
    y: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float64],
    threshold: float | npt.NDArray[np.float64],
) -> dict[str, float | None]:
    """ROC AUC, recall and false-positive rate; `threshold` is one, or one per row. A set of
    one label (a phishing feed) has a recall but no ROC AUC nor false-positive rate."""
    threshold = np.broadcast_to(np.asarray(threshold, dtype=np.float64), scores.shape)
    phishing = y == 1
    flagged = scores >= threshold
    return {
        "roc_auc": float(roc_auc_score(y, scores)) if len(np.unique(y)) == 2 else None,
        "recall": _share(flagged[phishing]),
        "false_positive_rate": _share(flagged[~phishing]),
    }


Scored = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]  # scores, thresholds


@dataclass(frozen=True)
class CrossFittedTerm:
    """The scheme term for the rows of the set it is fitted on: each half of the set (grouped
    by registered domain) scored by the term fitted on the other half."""

    half: npt.NDArray[np.int64]
    terms: tuple[SchemeTerm, SchemeTerm]

    @classmethod
    def fit(cls, examples: Sequence[Example], predictor: Predictor) -> "CrossFittedTerm":
        logits, https, y = model_columns(predictor, examples)
        half = domain_folds(normalize_batch([e.url for e in examples]), 2, seed=0)
        first, second = (
            SchemeTerm.fit(logits[half != h], https[half != h], y[half != h]) for h in (0, 1)
        )
        return cls(half, (first, second))

    def scores(self, logits: npt.NDArray[np.float64], https: npt.NDArray[np.bool_]) -> Scored:
        """Scores and thresholds of the same rows (shifted or not) by their halves' terms."""
        scores, thresholds = np.zeros(len(logits)), np.zeros(len(logits))
        for held_out, term in enumerate(self.terms):
            rows = self.half == held_out
            scores[rows] = term.scores(logits[rows], https[rows])
            thresholds[rows] = term.threshold
        return scores, thresholds


def scheme_report(predictor: Predictor, sets: Mapping[str, Sequence[Example]]) -> dict[str, Any]:
    """The term fitted on `sets["test"]`, and per set and shift ("as is", "phishing on
    https") each label's share of https URLs, and the ROC AUC, recall and false-positive rate
    of the model alone and of the model with the term (cross-fitted on the test split's own
    rows)."""
    term = SchemeTerm.fit(*model_columns(predictor, sets["test"]))
    cross_fitted = CrossFittedTerm.fit(sets["test"], predictor)
    results: dict[str, Any] = {}
    for name, examples in sets.items():
        results[name] = {}
        for shift, shifted in (
            ("as is", examples),
            ("phishing on https", phishing_on_https(examples)),
        ):
            logits, https, y = model_columns(predictor, shifted)
            scheme = (
                cross_fitted.scores(logits, https)
                if name == "test"
                else (term.scores(logits, https), np.full(len(y), term.threshold))
            )
            results[name][shift] = {
                "model": _outcome(y, sigmoid(logits), predictor.threshold),
                "model with scheme": _outcome(y, *scheme),
                "urls": len(shifted),
                # The shortcut itself: how differently each label's URLs use https.
                "https_share": {label: _share(https[y == LABEL_MAP[label]]) for label in LABELS},
            }
    return {
        "model": {"name": predictor.name, "version": predictor.version},
        "term": vars(term),
        "sets": results,
    }


def scheme_shortcut(
    model_dir: Path | None = None, root: Path | None = None
) -> tuple[dict[str, Any], Path]:
    """The report for a model (default the ensemble) on the prepared splits and the external
    sets of params.yaml, written to reports/scheme.json."""
    root = root or project_root()
    paths = Paths(root)
    predictor = Predictor.load(model_dir or paths.models / "ensemble")
    report = scheme_report(predictor, held_out_sets(root))
    out = root / "reports" / "scheme.json"
    write_json(out, report)
    return report, out
