"""Does refitting on train + val (`train.refit`) pay? Decided without the test split.

The training split is cut, grouped by registered domain, into a fitting part and a choosing
part as large next to it as val is next to train. The families fitted on the fitting part and
chosen on the choosing part (early stopping, calibration, threshold) are compared on the
validation split with the same families refitted on both parts, as the train stage refits on
train + val. One cut per seed.
"""

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from lib_ml import Predictor, write_artifact
from lib_ml.drift import reference_distributions
from model_training.config import Paths, load_params, project_root
from model_training.evaluate import write_json
from model_training.metrics import classification_metrics
from model_training.train import (
    Split,
    domain_folds,
    load_labelled_split,
    manifest_for,
    train_families,
)

REPORTED = ("log_loss", "roc_auc", "f1")
CUT_FOLDS = 100  # the choosing part is a whole number of these domain-grouped folds


def rows_of(split: Split, rows: np.ndarray[Any, Any]) -> Split:
    return Split([split.raw[i] for i in rows], [split.urls[i] for i in rows], split.y[rows])


def cut(train: Split, choosing_share: float, seed: int) -> tuple[Split, Split]:
    """The fitting and the choosing part of `train`, no registered domain in both."""
    fold = domain_folds(train.urls, CUT_FOLDS, seed)
    choosing = fold < round(choosing_share * CUT_FOLDS)
    return rows_of(train, np.flatnonzero(~choosing)), rows_of(train, np.flatnonzero(choosing))


def refit_check(
    train: Split, val: Split, params: dict[str, Any], seeds: list[int]
) -> list[dict[str, Any]]:
    """Per seed and family: rows of each part, and the val metrics of the chosen model and of
    the refitted one."""
    share = len(val.raw) / (len(train.raw) + len(val.raw))
    distributions = reference_distributions(train.texts[:1000])  # not compared here
    results = []
    for seed in seeds:
        fitting, choosing = cut(train, share, seed)
        both = Split(fitting.raw + choosing.raw, fitting.urls + choosing.urls,
                     np.concatenate([fitting.y, choosing.y]))  # fmt: skip
        chosen = train_families(fitting, choosing, params)
        refitted = train_families(both, None, params, chosen={m.family: m for m in chosen})
        for first, second in zip(chosen, refitted, strict=True):
            row: dict[str, Any] = {"seed": seed, "family": first.family,
                                   "rows": [len(fitting.raw), len(choosing.raw)]}  # fmt: skip
            for name, model in (("chosen", first), ("refitted", second)):
                with tempfile.TemporaryDirectory() as work:
                    manifest = manifest_for(model, choosing, params, "", distributions)
                    write_artifact(Path(work), manifest, model.weights)
                    predictor = Predictor.load(Path(work))
                    metrics = classification_metrics(
                        val.y, predictor.predict_proba(val.raw), predictor.threshold
                    )
                row[name] = {key: metrics[key] for key in REPORTED}
            results.append(row)
    return results


def refit_report(seeds: list[int], root: Path | None = None) -> tuple[list[dict[str, Any]], Path]:
    """The check on the prepared splits with params.yaml's training parameters, written to
    reports/refit.json."""
    root = root or project_root()
    prepared = Paths(root).prepared
    train, val = (load_labelled_split(prepared / f"{name}.txt") for name in ("train", "val"))
    results = refit_check(train, val, load_params(root)["train"], seeds)
    out = root / "reports" / "refit.json"
    write_json(out, results)
    return results, out
