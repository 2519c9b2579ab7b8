"""The reference baseline of the project's quality targets, rerun on our own splits.

A plain character 1-5 TF-IDF + logistic regression, in two variants: on the URL as written
(scheme included, as such baselines usually are) and on the scheme-free text the models read
(`lib_ml.urls`). Each variant's regularization is chosen on the validation split (ROC AUC)
and its threshold by validation F1, as training does for the models; then both variants and a
model artifact (default the ensemble) are compared on the test split and the external sets.
The baseline reads the scheme differently from the models, so the comparison says how much of
a difference on another source is the scheme and how much is the model. When training refits
the models on train + val (`train.refit`), each variant is also refitted so, with its
validation choices, and scored beside the one fitted on train alone (the targets' protocol).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from lib_ml import Predictor, normalize_url
from model_training.config import Paths, load_params, project_root
from model_training.evaluate import held_out_sets, write_json
from model_training.metrics import best_f1_threshold, classification_metrics
from model_training.sources import Example, label_array, read_labelled

NGRAM_RANGE = (1, 5)
C_GRID = (1.0, 10.0, 100.0)
VARIANTS = ("as written", "scheme-free")
REPORTED = ("roc_auc", "f1", "precision", "recall")


def baseline_text(url: str, variant: str) -> str:
    """What the baseline variant reads of a URL."""
    if variant == "as written":
        return url.strip()
    if variant == "scheme-free":
        return normalize_url(url).text
    raise ValueError(f"unknown baseline variant {variant!r}; known: {VARIANTS}")


def _texts(examples: Sequence[Example], variant: str) -> list[str]:
    return [baseline_text(e.url, variant) for e in examples]


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char", ngram_range=NGRAM_RANGE, dtype=np.float32)


def _classifier(c: float, seed: int) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=2000, random_state=seed)


@dataclass
class FittedBaseline:
    variant: str
    vectorizer: TfidfVectorizer
    model: LogisticRegression
    threshold: float

    @classmethod
    def fit(
        cls, variant: str, train: Sequence[Example], validation: Sequence[Example], seed: int
    ) -> "FittedBaseline":
        """The C of C_GRID with the best validation ROC AUC; the threshold of best validation
        F1 for that C."""
        vectorizer = _vectorizer()
        x_train = vectorizer.fit_transform(_texts(train, variant))
        x_val = vectorizer.transform(_texts(validation, variant))
        y_train, y_val = label_array(train), label_array(validation)
        fitted = []
        for c in C_GRID:
            model = _classifier(c, seed).fit(x_train, y_train)
            scores = model.predict_proba(x_val)[:, 1]
            fitted.append((float(roc_auc_score(y_val, scores)), model, scores))
        _, model, scores = max(fitted, key=lambda candidate: candidate[0])  # the first on ties
        return cls(variant, vectorizer, model, best_f1_threshold(y_val, scores))

    def refitted(self, train: Sequence[Example], validation: Sequence[Example]) -> "FittedBaseline":
        """The same variant, C and threshold, fitted again on train + val (as `train.refit`
        does for the models)."""
        examples = [*train, *validation]
        vectorizer = _vectorizer()
        x = vectorizer.fit_transform(_texts(examples, self.variant))
        model = _classifier(self.c, self.model.random_state).fit(x, label_array(examples))
        return FittedBaseline(self.variant, vectorizer, model, self.threshold)

    @property
    def c(self) -> float:
        return float(self.model.C)

    def scores(self, examples: Sequence[Example]) -> npt.NDArray[np.float64]:
        x = self.vectorizer.transform(_texts(examples, self.variant))
        return np.asarray(self.model.predict_proba(x)[:, 1])


def _outcome(
    examples: Sequence[Example], scores: npt.NDArray[np.float64], threshold: float
) -> dict[str, float | None]:
    """The reported metrics; those a set cannot define (ROC AUC of one label) are None."""
    metrics = classification_metrics(label_array(examples), scores, threshold)
    return {key: metrics[key] for key in REPORTED}


def baseline_report(
    predictor: Predictor,
    train: Sequence[Example],
    validation: Sequence[Example],
    sets: Mapping[str, Sequence[Example]],
    seed: int,
    refit: bool = False,
) -> dict[str, Any]:
    """Per scorer (each baseline variant, with `refit` also refitted on train + val, then the
    model) its validation choices and, per set, ROC AUC, F1, precision and recall at its own
    threshold."""
    scorers: dict[str, Any] = {}
    for variant in VARIANTS:
        chosen = FittedBaseline.fit(variant, train, validation, seed)
        fits = {f"baseline ({variant})": chosen}
        if refit:
            fits[f"baseline ({variant}, refitted)"] = chosen.refitted(train, validation)
        for scorer, baseline in fits.items():
            scorers[scorer] = {
                "C": baseline.c,
                "threshold": baseline.threshold,
                "sets": {
                    name: _outcome(examples, baseline.scores(examples), baseline.threshold)
                    for name, examples in sets.items()
                },
            }
    scorers[f"model {predictor.name}"] = {
        "version": predictor.version,
        "threshold": predictor.threshold,
        "sets": {
            name: _outcome(
                examples, predictor.predict_proba([e.url for e in examples]), predictor.threshold
            )
            for name, examples in sets.items()
        },
    }
    return {
        "baseline": {"ngram_range": list(NGRAM_RANGE), "c_grid": list(C_GRID), "refit": refit},
        "scorers": scorers,
    }


def reference_baseline(
    model_dir: Path | None = None, root: Path | None = None
) -> tuple[dict[str, Any], Path]:
    """The report on the prepared splits and the external sets of params.yaml, for a model
    (default the ensemble), written to reports/baseline.json."""
    root = root or project_root()
    paths, params = Paths(root), load_params(root)
    predictor = Predictor.load(model_dir or paths.models / "ensemble")
    train, validation = (
        read_labelled(paths.prepared / f"{name}.txt", "dl") for name in ("train", "val")
    )
    report = baseline_report(
        predictor, train, validation, held_out_sets(root), seed=int(params["train"]["seed"]),
        refit=bool(params["train"].get("refit", False)),
    )  # fmt: skip
    out = root / "reports" / "baseline.json"
    write_json(out, report)
    return report, out
