"""Stage evaluate: metrics.json per model on the test split (and on external labelled files),
plus the data for DVC plots: ROC, precision-recall, confusion matrix and calibration."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import precision_recall_curve, roc_curve

from lib_ml import Predictor, find_artifacts
from lib_ml.labels import LABELS
from model_training.config import Paths, load_params, mirror_directory, project_root
from model_training.metrics import classification_metrics, slice_metrics
from model_training.prepare import clean
from model_training.sources import Example, read_labelled
from model_training.train import Split

_CURVE_POINTS = 200


def _thin(*columns: npt.NDArray[Any]) -> list[npt.NDArray[Any]]:
    """At most _CURVE_POINTS evenly spaced points per curve: plots stay small in git."""
    size = len(columns[0])
    keep = np.unique(np.linspace(0, size - 1, min(size, _CURVE_POINTS)).astype(int))
    return [c[keep] for c in columns]


@dataclass
class Evaluation:
    metrics: dict[str, Any]
    y: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float64]


class NothingToEvaluateError(ValueError):
    """No labelled example is left once invalid URLs, duplicates and conflicts are dropped."""


def evaluate_examples(predictor: Predictor, examples: list[Example]) -> Evaluation:
    """All metrics.json keys for one model on labelled examples (invalid URLs dropped, counted).
    Raises NothingToEvaluateError when none is left."""
    cleaned = clean(examples)
    if not cleaned.examples:
        counts = ", ".join(f"{count} {what}" for what, count in cleaned.counts.items())
        raise NothingToEvaluateError(f"no valid labelled URL to evaluate on ({counts})")
    split = Split.from_examples(cleaned.examples)
    scores = predictor.predict_proba([e.url for e in cleaned.examples])
    metrics = classification_metrics(split.y, scores, predictor.threshold)
    metrics["slices"] = slice_metrics(split.urls, split.y, scores, predictor.threshold)
    metrics["data"] = dict(cleaned.counts)
    metrics["model"] = {
        "name": predictor.name,
        "version": predictor.version,
        "manifest_sha256": predictor.manifest_sha256,  # which artifact, exactly
    }
    return Evaluation(metrics, split.y, scores)


def plot_data(
    y: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], threshold: float
) -> dict[str, Any]:
    fpr, tpr, _ = roc_curve(y, scores)
    precision, recall, _ = precision_recall_curve(y, scores)
    fpr, tpr = _thin(fpr, tpr)
    precision, recall = _thin(precision, recall)
    edges = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, 9)
    calibration = [
        {"predicted": float(scores[which == b].mean()), "observed": float(y[which == b].mean())}
        for b in range(10)
        if (which == b).any()
    ]
    predicted = (scores >= threshold).astype(int)
    return {
        "roc": [{"fpr": float(a), "tpr": float(b)} for a, b in zip(fpr, tpr, strict=True)],
        "pr": [
            {"recall": float(a), "precision": float(b)}
            for a, b in zip(recall, precision, strict=True)
        ],
        "confusion": [
            {"actual": LABELS[int(a)], "predicted": LABELS[int(p)]}
            for a, p in zip(y, predicted, strict=True)
        ],
        "calibration": calibration,
    }


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def external_sets(params: dict[str, Any], root: Path) -> dict[str, list[Example]]:
    """The labelled files of params `evaluate.external` found in the mirror, by name."""
    mirror = mirror_directory(params, root)
    external: dict[str, list[Example]] = {}
    for source in params["evaluate"].get("external", []):
        files = [mirror / p for p in source["paths"]]
        if all(f.is_file() for f in files):
            external[source["name"]] = [
                e for f in files for e in read_labelled(f, source["format"])
            ]
    return external


def held_out_sets(root: Path) -> dict[str, list[Example]]:
    """The test split, then the external sets cleaned as prepare cleans: what the reports
    compare scorers on."""
    sets = {"test": read_labelled(Paths(root).prepared / "test.txt", "dl")}
    external = external_sets(load_params(root), root)
    return sets | {name: clean(examples).examples for name, examples in external.items()}


def evaluate(root: Path | None = None) -> dict[str, dict[str, Any]]:
    root = root or project_root()
    params = load_params(root)
    paths = Paths(root)
    test = read_labelled(paths.prepared / "test.txt", "dl")
    external = external_sets(params, root)
    summary: dict[str, dict[str, Any]] = {}
    for directory in find_artifacts(paths.models):
        predictor = Predictor.load(directory)
        evaluation = evaluate_examples(predictor, test)
        metrics = evaluation.metrics
        metrics["external"] = {
            name: {
                k: v
                for k, v in evaluate_examples(predictor, examples).metrics.items()
                if k != "slices"
            }
            for name, examples in external.items()
        }
        write_json(paths.metrics / f"{predictor.name}.json", metrics)
        plots = plot_data(evaluation.y, evaluation.scores, predictor.threshold)
        for plot, rows in plots.items():
            write_json(paths.plots / predictor.name / f"{plot}.json", rows)
        summary[predictor.name] = metrics
    return summary


def _decimal(value: float | None, places: int) -> str:
    """n/a where the metric is undefined: ROC AUC on an external set of one class (a feed of
    phishing URLs)."""
    return "n/a" if value is None else f"{value:.{places}f}"


def main() -> None:
    for name, metrics in evaluate().items():
        external = " ".join(
            f"{source} ROC AUC {_decimal(m['roc_auc'], 4)}"
            for source, m in metrics["external"].items()
        )
        print(
            f"{name:>9}: test F1 {metrics['f1']:.4f} ROC AUC {_decimal(metrics['roc_auc'], 5)} "
            f"ECE {metrics['ece']:.4f} {external}"
        )


if __name__ == "__main__":
    main()
