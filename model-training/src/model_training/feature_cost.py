"""Feature cost: time and memory of each feature group and its marginal value.

The two groups are the inputs of the two model families: `ngram` (idf-weighted hashed byte
n-grams of the URL's views, read by `linear` and by the ensemble's view models) and `lexical`
(the lexical URL features, read by `gbm`). The ensemble's trees read both: the lexical
features and the views' logits. The marginal value of a group is what the ensemble loses on
the test split when the group's inputs to its trees are shuffled across URLs (permutation
importance), measured in ROC AUC, which ignores calibration.
"""

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import memray
import numpy as np

from lib_ml import NormalizedUrl, Predictor
from lib_ml.features import LEXICAL_FEATURES, lexical_matrix
from lib_ml.matrices import ngram_counts, tfidf_rows
from lib_ml.scorers import sigmoid
from model_training.config import Paths, load_params, project_root
from model_training.metrics import classification_metrics
from model_training.prepare import SPLITS
from model_training.sources import Example, read_dl
from model_training.train import Split, build_models

GROUPS = {"ngram": "linear", "lexical": "gbm"}  # feature group -> the family that reads it
REPORT_NAME = "feature_cost"


@dataclass(frozen=True)
class GroupCost:
    group: str
    family: str
    featurize_us_per_url: float  # best of three runs
    featurize_peak_mib: float  # peak heap while featurizing the batch (memray)
    matrix_mib: float  # size of the feature matrix of the batch
    training_seconds: float  # the family's training time
    alone: dict[str, float]  # test metrics of the family alone
    marginal_roc_auc: float  # ensemble minus the ensemble with this group's inputs shuffled


def measure(
    method: Callable[[], Any],
    capture: Path,
    repeats: int = 3,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[float, float, Any]:
    """(best seconds of `repeats` runs by `clock`, peak MiB of one more run under memray, its
    result). memray sees native allocations too (numpy, LightGBM), unlike tracemalloc."""
    seconds = []
    for _ in range(repeats):
        start = clock()
        method()
        seconds.append(clock() - start)
    capture.unlink(missing_ok=True)
    with memray.Tracker(capture):
        result = method()
    peak = memray.FileReader(capture).metadata.peak_memory / 2**20
    capture.unlink()
    return min(seconds), peak, result


def featurizers(predictor: Predictor, urls: list[NormalizedUrl]) -> dict[str, Callable[[], Any]]:
    """The featurization of each group, as the ensemble runs it at prediction time."""
    if predictor.family != "ensemble":
        raise ValueError("feature cost needs an ensemble artifact")
    views = predictor.views
    return {
        "ngram": lambda: [tfidf_rows(ngram_counts(urls, v.config), v.idf) for v in views],
        "lexical": lambda: lexical_matrix(urls),
    }


def _matrix_mib(matrix: Any) -> float:
    if isinstance(matrix, np.ndarray):
        return matrix.nbytes / 2**20
    if isinstance(matrix, list):
        return sum(_matrix_mib(part) for part in matrix)
    return float(matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes) / 2**20


def shuffled_roc_auc(ensemble: Predictor, test: Split, group: str, seed: int = 0) -> float:
    """The ensemble's test ROC AUC with the group's tree inputs shuffled across URLs."""
    if ensemble.trees is None or ensemble.stacker is None:
        raise ValueError("feature cost needs an ensemble artifact")
    inputs = ensemble.tree_inputs(test.urls)
    lexical = len(LEXICAL_FEATURES)
    columns = slice(0, lexical) if group == "lexical" else slice(lexical, inputs.shape[1])
    inputs[:, columns] = inputs[np.random.default_rng(seed).permutation(len(inputs)), columns]
    scores = sigmoid(ensemble.stacker.logits([ensemble.trees.logits(inputs)]))
    return float(classification_metrics(test.y, scores, ensemble.threshold)["roc_auc"])


def feature_cost(
    models_dir: Path, training_seconds: dict[str, float], test: Split, work_dir: Path
) -> list[GroupCost]:
    """Measure each group with the linear/, gbm/ and ensemble/ artifacts of `models_dir`, which
    took `training_seconds` per family to train, on the test split (memray captures go to
    `work_dir`)."""
    predictors = {
        family: Predictor.load(models_dir / family) for family in (*GROUPS.values(), "ensemble")
    }
    metrics = {
        family: classification_metrics(test.y, model.predict_proba(test.raw), model.threshold)
        for family, model in predictors.items()
    }
    costs = []
    for group, featurize in featurizers(predictors["ensemble"], test.urls).items():
        seconds, peak, matrix = measure(featurize, work_dir / f"{group}.memray")
        family = GROUPS[group]
        costs.append(
            GroupCost(
                group=group,
                family=family,
                featurize_us_per_url=seconds / len(test.urls) * 1e6,
                featurize_peak_mib=peak,
                matrix_mib=_matrix_mib(matrix),
                training_seconds=training_seconds[family],
                alone={k: metrics[family][k] for k in ("f1", "roc_auc", "log_loss")},
                marginal_roc_auc=metrics["ensemble"]["roc_auc"]
                - shuffled_roc_auc(predictors["ensemble"], test, group),
            )
        )
    return costs


def render_markdown(costs: list[GroupCost], n_test: int) -> str:
    lines = [
        "# Feature cost",
        "",
        f"Per feature group, on {n_test} test URLs: featurization time and peak memory, the "
        "training time of the family that reads the group, its test metrics alone, and its "
        "marginal value: what the ensemble's ROC AUC loses when the group's inputs to its "
        "trees are shuffled across URLs.",
        "",
        "| group | family | µs per URL | peak MiB | matrix MiB | training s | F1 alone "
        "| ROC AUC alone | marginal ROC AUC |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {c.group} | {c.family} | {c.featurize_us_per_url:.1f} | {c.featurize_peak_mib:.1f} "
        f"| {c.matrix_mib:.2f} | {c.training_seconds:.2f} | {c.alone['f1']:.4f} "
        f"| {c.alone['roc_auc']:.4f} | {c.marginal_roc_auc:+.4f} |"
        for c in costs
    ]
    return "\n".join(lines) + "\n"


def write_report(costs: list[GroupCost], n_test: int, out_dir: Path) -> list[Path]:
    """reports/feature_cost.json and .md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{REPORT_NAME}.json"
    json_path.write_text(json.dumps([asdict(c) for c in costs], indent=2) + "\n", encoding="utf-8")
    markdown = out_dir / f"{REPORT_NAME}.md"
    markdown.write_text(render_markdown(costs, n_test), encoding="utf-8")
    return [json_path, markdown]


def sample(examples: list[Example], limit: int | None, seed: int = 0) -> list[Example]:
    """At most `limit` examples, a seeded random subset in the original order."""
    if limit is None or limit >= len(examples):
        return examples
    keep = np.sort(np.random.default_rng(seed).choice(len(examples), limit, replace=False))
    return [examples[i] for i in keep]


def feature_cost_report(
    root: Path | None = None, limit: int | None = None, out_dir: Path | None = None
) -> tuple[list[GroupCost], list[Path]]:
    """Feature cost of the prepared splits (each cut to `limit` URLs) with params.yaml's
    training parameters, written under reports/."""
    root = root or project_root()
    prepared = Paths(root).prepared
    splits = {
        name: Split.from_examples(sample(list(read_dl(prepared / f"{name}.txt")), limit))
        for name in SPLITS
    }
    params = {**load_params(root)["train"], "families": ["linear", "gbm", "ensemble"]}
    with tempfile.TemporaryDirectory() as work:
        built = build_models(splits["train"], splits["val"], params, Path(work) / "models")
        seconds = {b.manifest["name"]: b.seconds for b in built}
        costs = feature_cost(Path(work) / "models", seconds, splits["test"], Path(work))
    return costs, write_report(costs, len(splits["test"].raw), out_dir or root / "reports")
