"""What the URL scheme would add to a model, and what it would cost.

The models ignore the scheme (`lib_ml.urls`): in public corpora `https` marks legitimate URLs
(Ebbu2017: 37 % of legitimate vs 2 % of phishing URLs; the DL Dataset sample: 67 % vs 3 %),
while live phishing is mostly served over https. This report measures that choice: it fits one
scheme term on the validation split on top of a model's logit (a logistic regression of the
label on the logit and "is https"), chooses that scorer's threshold on validation as training
does, and compares both scorers on the test split and on external labelled sets, as they are
and with every phishing URL moved to https.
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

from lib_ml import Predictor
from lib_ml.predictor import normalize_batch
from lib_ml.scorers import sigmoid
from model_training.config import Paths, project_root
from model_training.evaluate import held_out_sets, write_json
from model_training.metrics import best_f1_threshold
from model_training.sources import Example, label_array, read_labelled

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


def _columns(
    predictor: Predictor, examples: Sequence[Example]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    normalized = normalize_batch([e.url for e in examples])
    logits = predictor.logits_normalized(normalized)
    https = np.array([u.scheme == "https" for u in normalized], dtype=bool)
    return logits, https, label_array(examples)


def _outcome(
    y: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], threshold: float
) -> dict[str, float]:
    phishing = y == 1
    return {
        "roc_auc": float(roc_auc_score(y, scores)),
        "recall": float(np.mean(scores[phishing] >= threshold)),
        "false_positive_rate": float(np.mean(scores[~phishing] >= threshold)),
    }


def scheme_report(
    predictor: Predictor, validation: Sequence[Example], sets: Mapping[str, Sequence[Example]]
) -> dict[str, Any]:
    """The fitted term, and per set and shift ("as is", "phishing on https") the ROC AUC,
    recall and false-positive rate of the model alone and of the model with the term."""
    term = SchemeTerm.fit(*_columns(predictor, validation))
    results: dict[str, Any] = {}
    for name, examples in sets.items():
        results[name] = {}
        for shift, shifted in (
            ("as is", examples),
            ("phishing on https", phishing_on_https(examples)),
        ):
            logits, https, y = _columns(predictor, shifted)
            results[name][shift] = {
                "model": _outcome(y, sigmoid(logits), predictor.threshold),
                "model with scheme": _outcome(y, term.scores(logits, https), term.threshold),
                "urls": len(shifted),
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
    sets = held_out_sets(root)
    validation = read_labelled(paths.prepared / "val.txt", "dl")
    report = scheme_report(predictor, validation, sets)
    out = root / "reports" / "scheme.json"
    write_json(out, report)
    return report, out
