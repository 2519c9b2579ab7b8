"""Stage train: the linear n-gram model, the lexical tree model, and the ensemble: trees over
the lexical features and the logits of linear models on several views of the URL, calibrated.

Every family writes a lib-ml artifact under models/<family>/ with its validation metrics and
the decision threshold chosen on the validation split.
"""

import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from sklearn.linear_model import LogisticRegression, SGDClassifier

from lib_ml import LABEL_MAP, NormalizedUrl, normalize_url, write_artifact
from lib_ml.artifact import sha256_file
from lib_ml.drift import reference_distributions
from lib_ml.features import LEXICAL_FEATURES, NgramConfig, lexical_matrix, view_text
from lib_ml.matrices import document_frequencies, smoothed_idf, text_ngram_counts, tfidf_rows
from lib_ml.predictor import LINEAR_FILE, TLD_FILE, TREES_FILE
from lib_ml.scorers import LinearScorer, Stacker, TldPrior, TreeScorer, sigmoid
from lib_ml.urls import split_host
from model_training.config import Paths, load_params, project_root
from model_training.metrics import best_f1_threshold, classification_metrics
from model_training.sources import Example, label_array, read_dl

Logits = npt.NDArray[np.float64]
FAMILIES = ("linear", "gbm", "ensemble")
VIEW_FILES = {
    "url": LINEAR_FILE, "host": "view_host.npz", "path": "view_path.npz", "words": "view_words.npz"
}  # fmt: skip


@dataclass
class Split:
    raw: list[str]
    urls: list[NormalizedUrl]
    y: npt.NDArray[np.int64]

    @property
    def texts(self) -> list[str]:
        return [u.text for u in self.urls]

    @classmethod
    def from_examples(cls, examples: Sequence[Example]) -> "Split":
        return cls(
            raw=[e.url for e in examples],
            urls=[normalize_url(e.url) for e in examples],
            y=label_array(examples),
        )


def load_split(path: Path) -> Split:
    return Split.from_examples(list(read_dl(path)))


def _chunks(size: int, chunk_size: int) -> Iterator[slice]:
    for start in range(0, size, chunk_size):
        yield slice(start, min(start + chunk_size, size))


def fit_linear(
    urls: Sequence[str], y: npt.NDArray[np.int64], params: dict[str, Any], seed: int
) -> LinearScorer:
    """Logistic regression by averaged SGD, streaming over chunks of raw URLs: memory stays
    O(chunk) whatever the data size, and time grows linearly with it.

    Pass 1 counts document frequencies; each epoch then re-featurizes the chunks of a seeded
    permutation (recomputing is cheaper than holding a multi-GB matrix at millions of URLs).
    """
    config = NgramConfig(
        params["ngram_min"], params["ngram_max"], params["hash_bits"],
        params.get("host_ngrams", False), params.get("view", "url"),
    )  # fmt: skip
    chunk_size = int(params["chunk_size"])
    texts, hosts = [], []
    df = np.zeros(config.n_features, dtype=np.int64)
    for part in _chunks(len(urls), chunk_size):
        normalized = [normalize_url(u) for u in urls[part]]
        texts += [view_text(u, config.view) for u in normalized]
        hosts += [u.host for u in normalized]
        df += document_frequencies(text_ngram_counts(texts[part], hosts[part], config))
    idf = smoothed_idf(df, len(urls))
    model = SGDClassifier(
        loss="log_loss", alpha=params["alpha"], average=True, random_state=seed, tol=None
    )
    rng = np.random.default_rng(seed)
    for _ in range(int(params["epochs"])):
        order = rng.permutation(len(urls))
        for part in _chunks(len(urls), chunk_size):
            rows = order[part]
            counts = text_ngram_counts([texts[i] for i in rows], [hosts[i] for i in rows], config)
            counts.eliminate_zeros()
            # Duplicate columns within a row are fine for SGD: dot products and updates
            # over entries add up exactly as over summed entries, without the sort.
            model.partial_fit(tfidf_rows(counts, idf), y[rows], classes=np.array([0, 1]))
    return LinearScorer(config, model.coef_[0].astype(np.float32), float(model.intercept_[0]), idf)


def fit_trees(
    train: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    val: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    params: dict[str, Any],
    seed: int,
    increasing: Sequence[bool] = (),
) -> TreeScorer:
    """LightGBM on (inputs, labels), early-stopped on the validation pair. The logit never
    falls as an input flagged in `increasing` (one flag per column, or none) rises."""
    booster_params: dict[str, Any] = {
        "objective": "binary",
        "learning_rate": params["learning_rate"],
        "num_leaves": params["num_leaves"],
        "min_data_in_leaf": params["min_data_in_leaf"],
        "feature_fraction": params["feature_fraction"],
        "bagging_fraction": params["bagging_fraction"],
        "bagging_freq": 1,
        "lambda_l2": params["lambda_l2"],
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": params.get("num_threads", 2),
        "verbosity": -1,
    }
    if any(increasing):
        booster_params["monotone_constraints"] = [int(flag) for flag in increasing]
    train_set = lgb.Dataset(train[0], label=train[1], free_raw_data=True)
    val_set = lgb.Dataset(val[0], label=val[1], reference=train_set)
    booster = lgb.train(
        booster_params,
        train_set,
        num_boost_round=params["num_boost_round"],
        valid_sets=[val_set],
        callbacks=[lgb.early_stopping(params["early_stopping_rounds"], verbose=False)],
    )
    return TreeScorer.from_lightgbm_dump(booster.dump_model(num_iteration=booster.best_iteration))


def domain_folds(urls: Sequence[NormalizedUrl], folds: int, seed: int) -> npt.NDArray[np.int64]:
    """A fold per URL such that no registered domain is in two folds (as in the split)."""
    domains = [split_host(u.host).registered_domain for u in urls]
    unique = sorted(set(domains))
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[index]: position % folds for position, index in enumerate(order)}
    return np.array([fold_of[d] for d in domains], dtype=np.int64)


def out_of_fold_logits(
    train: Split, fold: npt.NDArray[np.int64], fitted: Sequence[Future[LinearScorer]]
) -> Logits:
    """Each training URL scored by the view model fitted without its fold (`fitted[f]`): what
    the trees see for training rows, so that they learn how the view errs on unseen URLs."""
    logits = np.zeros(len(train.raw))
    for held_out, model in zip(np.unique(fold), fitted, strict=True):
        rows = np.flatnonzero(fold == held_out)
        logits[rows] = model.result().logits([train.urls[i] for i in rows])
    return logits


def out_of_fold_tld_prior(
    train: Split, fold: npt.NDArray[np.int64], smoothing: float
) -> npt.NDArray[np.float32]:
    """The TLD prior of each training URL from the other folds (its own label left out)."""
    hosts = [u.host for u in train.urls]
    features = np.zeros((len(hosts), len(TldPrior.FEATURES)), dtype=np.float32)
    for held_out in np.unique(fold):
        fit_rows = np.flatnonzero(fold != held_out)
        rows = np.flatnonzero(fold == held_out)
        prior = TldPrior.fit([hosts[i] for i in fit_rows], train.y[fit_rows], smoothing)
        features[rows] = prior.features([train.urls[i] for i in rows])
    return features


def fit_stacker(member_logits: Sequence[Logits], y: npt.NDArray[np.int64], seed: int) -> Stacker:
    """Logistic regression on validation logits: weights and calibration at once."""
    model = LogisticRegression(C=1.0, random_state=seed)
    model.fit(np.column_stack(member_logits), y)
    return Stacker(tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0]))


def _created() -> str:
    """Build time; SOURCE_DATE_EPOCH, when set, makes artifacts reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.isoformat(timespec="seconds")


@dataclass
class Trained:
    family: str
    val_logits: Logits
    weights: dict[str, dict[str, npt.NDArray[Any]]]
    extra: dict[str, Any]
    seconds: float


def view_params(linear: dict[str, Any], ensemble: dict[str, Any], view: str) -> dict[str, Any]:
    """The linear parameters of one view: the url view is the linear family's model."""
    if view == "url":
        return linear
    return {**linear, **ensemble["view"], "view": view, "host_ngrams": False}


def train_ensemble(
    train: Split,
    val: Split,
    lexical: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]],
    url_view: Trained,
    params: dict[str, Any],
) -> Trained:
    """Trees over the lexical features and the logits of linear models on several views,
    out-of-fold on the training rows; then a logistic calibration on the validation split.
    `params` is the train section: the url view is `linear`, the rest is `ensemble`."""
    seed, ensemble = params["seed"], params["ensemble"]
    fold = domain_folds(train.urls, int(ensemble["folds"]), seed)
    train_inputs: list[npt.NDArray[Any]] = [lexical[0]]
    val_inputs: list[npt.NDArray[Any]] = [lexical[1]]
    weights: dict[str, dict[str, npt.NDArray[Any]]] = {}
    if ensemble["tld_prior"]:
        smoothing = float(ensemble["tld_smoothing"])
        prior = TldPrior.fit([u.host for u in train.urls], train.y, smoothing)
        weights[TLD_FILE] = prior.to_arrays()
        train_inputs.append(out_of_fold_tld_prior(train, fold, smoothing))
        val_inputs.append(prior.features(val.urls))
    views = []
    # The fits are independent and seeded: threads give the same models in any order, and
    # SGD and numpy release the GIL for much of the work.
    with ThreadPoolExecutor(max_workers=int(ensemble["workers"])) as pool:

        def fit(rows: npt.NDArray[np.intp], linear_params: dict[str, Any]) -> Future[LinearScorer]:
            urls, y = [train.raw[i] for i in rows], train.y[rows]
            return pool.submit(fit_linear, urls, y, linear_params, seed)

        jobs = []
        for view in ensemble["views"]:
            linear_params = view_params(params["linear"], ensemble, view)
            full = None if view == "url" else fit(np.arange(len(train.raw)), linear_params)
            folds = [fit(np.flatnonzero(fold != f), linear_params) for f in np.unique(fold)]
            jobs.append((view, full, folds))
        for view, full, folds in jobs:
            if full is None:  # the url view is the linear family's model, already scored on val
                arrays, ngram = url_view.weights[LINEAR_FILE], url_view.extra["ngram"]
                val_logits = url_view.val_logits
            else:
                model = full.result()
                arrays, ngram = model.to_arrays(), model.config.to_dict()
                val_logits = model.logits(val.urls)
            weights[VIEW_FILES[view]] = arrays
            views.append({"file": VIEW_FILES[view], "ngram": ngram})
            train_inputs.append(out_of_fold_logits(train, fold, folds)[:, np.newaxis])
            val_inputs.append(val_logits[:, np.newaxis])
    X_train = np.hstack(train_inputs).astype(np.float32)
    X_val = np.hstack(val_inputs).astype(np.float32)
    # A view's logit is its evidence of phishing: more of it never lowers the trees' answer.
    named = X_train.shape[1] - len(views)
    increasing = [False] * named + [bool(ensemble["monotone_views"])] * len(views)
    trees = fit_trees((X_train, train.y), (X_val, val.y), ensemble["gbm"], seed, increasing)
    weights[TREES_FILE] = trees.to_arrays()
    tree_logits = trees.logits(X_val)
    calibration = fit_stacker([tree_logits], val.y, seed)
    return Trained(
        "ensemble", calibration.logits([tree_logits]), weights,
        {"views": views, "lexical": list(LEXICAL_FEATURES), "tld_prior": ensemble["tld_prior"],
         "stacker": calibration.to_dict()},
        url_view.seconds,
    )  # fmt: skip


def train_families(
    train: Split, val: Split, params: dict[str, Any], progress: Progress | None = None
) -> list[Trained]:
    seed = params["seed"]
    wanted = params["families"]
    unknown = set(wanted) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown model families {sorted(unknown)}; known: {FAMILIES}")
    trained: dict[str, Trained] = {}

    def step(name: str) -> TaskID | None:
        return progress.add_task(f"train {name}", total=None) if progress else None

    def done(task: TaskID | None) -> None:
        if progress is not None and task is not None:
            progress.update(task, total=1, completed=1)

    if "linear" in wanted or "ensemble" in wanted:
        task, start = step("linear"), time.perf_counter()
        linear = fit_linear(train.raw, train.y, params["linear"], seed)
        trained["linear"] = Trained(
            "linear", linear.logits(val.urls), {LINEAR_FILE: linear.to_arrays()},
            {"ngram": linear.config.to_dict()}, time.perf_counter() - start,
        )  # fmt: skip
        done(task)
    lexical = (lexical_matrix(train.urls), lexical_matrix(val.urls))
    if "gbm" in wanted:
        task, start = step("gbm"), time.perf_counter()
        trees = fit_trees((lexical[0], train.y), (lexical[1], val.y), params["gbm"], seed)
        trained["gbm"] = Trained(
            "gbm", trees.logits(lexical[1]), {TREES_FILE: trees.to_arrays()},
            {"lexical": list(LEXICAL_FEATURES)}, time.perf_counter() - start,
        )  # fmt: skip
        done(task)
    if "ensemble" in wanted:
        task, start = step("ensemble"), time.perf_counter()
        trained["ensemble"] = train_ensemble(train, val, lexical, trained["linear"], params)
        trained["ensemble"].seconds += time.perf_counter() - start
        done(task)
    return [trained[name] for name in FAMILIES if name in wanted]


def manifest_for(
    model: Trained,
    val: Split,
    params: dict[str, Any],
    data_sha256: str,
    feature_distributions: dict[str, Any],
) -> dict[str, Any]:
    probabilities = sigmoid(model.val_logits)
    threshold = best_f1_threshold(val.y, probabilities)
    featurizer = {
        k: v for k, v in model.extra.items() if k in ("ngram", "lexical", "views", "tld_prior")
    }
    manifest: dict[str, Any] = {
        "name": model.family,
        "family": model.family,
        "version": str(params["model_version"]),
        "created": _created(),
        "training_data_sha256": data_sha256,
        "params": {
            "seed": params["seed"],
            **{k: params[k] for k in ("linear", "gbm", "ensemble") if k in params},
        },
        "metrics": {"validation": classification_metrics(val.y, probabilities, threshold)},
        "label_map": LABEL_MAP,
        "threshold": threshold,
        "featurizer": featurizer,
        "feature_distributions": feature_distributions,
        "training_seconds": round(model.seconds, 3),
    }
    if "stacker" in model.extra:
        manifest["stacker"] = model.extra["stacker"]
    return manifest


def train(root: Path | None = None) -> list[dict[str, Any]]:
    root = root or project_root()
    params = load_params(root)["train"]
    paths = Paths(root)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("load splits", total=2)
        train_split = load_split(paths.prepared / "train.txt")
        progress.advance(task)
        val_split = load_split(paths.prepared / "val.txt")
        progress.advance(task)
        return build_models(
            train_split, val_split, params, paths.models,
            data_sha256=sha256_file(paths.prepared / "train.txt"), progress=progress,
        )  # fmt: skip


def build_models(
    train_split: Split,
    val_split: Split,
    params: dict[str, Any],
    models_dir: Path,
    data_sha256: str = "",
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Train the configured families and write one artifact each under models_dir/<family>."""
    models = train_families(train_split, val_split, params, progress)
    distributions = reference_distributions(train_split.texts)  # the same for every family
    manifests = []
    for model in models:
        manifest = manifest_for(model, val_split, params, data_sha256, distributions)
        write_artifact(models_dir / model.family, manifest, model.weights)
        manifests.append(manifest)
    return manifests


def main() -> None:
    for manifest in train():
        validation = manifest["metrics"]["validation"]
        print(
            f"{manifest['name']:>9}: val F1 {validation['f1']:.4f} ROC AUC {validation['roc_auc']:.5f} "
            f"threshold {manifest['threshold']:.3f} ({manifest['training_seconds']:.1f} s)"
        )


if __name__ == "__main__":
    main()
