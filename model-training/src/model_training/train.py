"""Stage train: the linear n-gram model, the lexical tree model, and the ensemble: trees over
the lexical features and the logits of linear models on several views of the URL, calibrated.

Every family writes a lib-ml artifact under models/<family>/ with its validation metrics and
the decision threshold chosen on the validation split. With `train.refit`, each family is then
fitted again on train + val with what validation chose (threshold, calibration, boosting
rounds), and its validation metrics are those of the model that was chosen.

An artifact holds nothing that differs between two runs of the same inputs, so that a rebuild
is byte-identical: `created` is SOURCE_DATE_EPOCH when set, and the time each fit took goes to
reports/training.json instead.
"""

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from sklearn.linear_model import LogisticRegression, SGDClassifier

from lib_ml import LABEL_MAP, NormalizedUrl, normalize_url, write_artifact
from lib_ml.drift import reference_distributions
from lib_ml.features import LEXICAL_FEATURES, NgramConfig, lexical_matrix, view_text
from lib_ml.matrices import document_frequencies, smoothed_idf, text_ngram_counts, tfidf_rows
from lib_ml.predictor import LINEAR_FILE, TLD_FILE, TREES_FILE
from lib_ml.scorers import LinearScorer, Stacker, TldPrior, TreeScorer, sigmoid
from lib_ml.urls import split_host
from model_training.config import Paths, build_time, load_params, project_root
from model_training.metrics import best_f1_threshold, classification_metrics
from model_training.params import FAMILIES
from model_training.sources import Example, label_array, read_dl

Logits = npt.NDArray[np.float64]
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


class UnusableSplitError(ValueError):
    """A prepared split that training cannot fit on or choose with."""


def load_split(path: Path) -> Split:
    return Split.from_examples(list(read_dl(path)))


def load_labelled_split(path: Path) -> Split:
    """A split with URLs of both labels, as fitting on train and choosing on val need."""
    split = load_split(path)
    if set(split.y.tolist()) != {0, 1}:
        raise UnusableSplitError(
            f"{path} holds {len(split.y)} URLs, not URLs of both labels: training needs both "
            "in train and val (prepare.val_fraction and test_fraction set their shares)"
        )
    return split


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
    val: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]] | None,
    params: dict[str, Any],
    seed: int,
    increasing: Sequence[bool] = (),
) -> TreeScorer:
    """LightGBM on (inputs, labels), early-stopped on the validation pair; without one it
    grows `num_boost_round` trees. The logit never falls as an input flagged in `increasing`
    (one flag per column, or none) rises."""
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
    if val is None:
        booster = lgb.train(booster_params, train_set, num_boost_round=params["num_boost_round"])
        return TreeScorer.from_lightgbm_dump(booster.dump_model())
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


@dataclass
class Trained:
    family: str
    val_logits: Logits
    weights: dict[str, dict[str, npt.NDArray[Any]]]
    extra: dict[str, Any]
    seconds: float
    rounds: int = 0  # boosting rounds, for the families with trees


def view_params(linear: dict[str, Any], ensemble: dict[str, Any], view: str) -> dict[str, Any]:
    """The linear parameters of one view: the url view is the linear family's model."""
    if view == "url":
        return linear
    return {**linear, **ensemble["view"], "view": view, "host_ngrams": False}


@dataclass
class EnsembleInputs:
    train: npt.NDArray[np.float32]  # out-of-fold for the training rows
    scored: list[npt.NDArray[np.float32]]  # other splits, by the models fitted on all of train
    weights: dict[str, dict[str, npt.NDArray[Any]]]
    views: list[dict[str, Any]]


def ensemble_inputs(
    train: Split,
    scored: Sequence[Split],
    lexical: Sequence[npt.NDArray[np.float32]],
    url_view: LinearScorer,
    params: dict[str, Any],
) -> EnsembleInputs:
    """The trees' inputs: lexical features (`lexical`: train's, then each scored split's), the
    TLD prior and the logits of linear models on several views, out-of-fold on the training
    rows. `params` is the train section: the url view is `linear`, the rest is `ensemble`."""
    seed, ensemble = params["seed"], params["ensemble"]
    fold = domain_folds(train.urls, int(ensemble["folds"]), seed)
    columns: list[list[npt.NDArray[Any]]] = [[matrix] for matrix in lexical]
    weights: dict[str, dict[str, npt.NDArray[Any]]] = {}
    if ensemble["tld_prior"]:
        smoothing = float(ensemble["tld_smoothing"])
        prior = TldPrior.fit([u.host for u in train.urls], train.y, smoothing)
        weights[TLD_FILE] = prior.to_arrays()
        columns[0].append(out_of_fold_tld_prior(train, fold, smoothing))
        for split, split_columns in zip(scored, columns[1:], strict=True):
            split_columns.append(prior.features(split.urls))
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
            model = url_view if full is None else full.result()
            weights[VIEW_FILES[view]] = model.to_arrays()
            views.append({"file": VIEW_FILES[view], "ngram": model.config.to_dict()})
            columns[0].append(out_of_fold_logits(train, fold, folds)[:, np.newaxis])
            for split, split_columns in zip(scored, columns[1:], strict=True):
                split_columns.append(model.logits(split.urls)[:, np.newaxis])
    train_inputs, *scored_inputs = (np.hstack(c).astype(np.float32) for c in columns)
    return EnsembleInputs(train_inputs, scored_inputs, weights, views)


def train_ensemble(
    train: Split,
    validation: Split | Trained,
    lexical: Sequence[npt.NDArray[np.float32]],
    url_view: LinearScorer,
    params: dict[str, Any],
) -> Trained:
    """Trees over `ensemble_inputs`, early-stopped on the validation split, then a logistic
    calibration on it; or, refitting, `num_boost_round` trees and the calibration of the
    ensemble chosen on validation (`validation` a Trained)."""
    seed, ensemble = params["seed"], params["ensemble"]
    val = validation if isinstance(validation, Split) else None
    inputs = ensemble_inputs(train, [val] if val else [], lexical, url_view, params)
    # A view's logit is its evidence of phishing: more of it never lowers the trees' answer.
    named = inputs.train.shape[1] - len(inputs.views)
    increasing = [False] * named + [bool(ensemble["monotone_views"])] * len(inputs.views)
    if isinstance(validation, Trained):
        trees = fit_trees((inputs.train, train.y), None, ensemble["gbm"], seed, increasing)
        val_logits, stacker = validation.val_logits, validation.extra["stacker"]
    else:
        val_set = (inputs.scored[0], validation.y)
        trees = fit_trees((inputs.train, train.y), val_set, ensemble["gbm"], seed, increasing)
        tree_logits = trees.logits(inputs.scored[0])
        calibration = fit_stacker([tree_logits], validation.y, seed)
        val_logits, stacker = calibration.logits([tree_logits]), calibration.to_dict()
    inputs.weights[TREES_FILE] = trees.to_arrays()
    return Trained(
        "ensemble", val_logits, inputs.weights,
        {"views": inputs.views, "lexical": list(LEXICAL_FEATURES),
         "tld_prior": ensemble["tld_prior"], "stacker": stacker},
        0.0, trees.roots.size,
    )  # fmt: skip


def train_families(
    train: Split,
    val: Split | None,
    params: dict[str, Any],
    progress: Progress | None = None,
    chosen: dict[str, Trained] | None = None,
) -> list[Trained]:
    """Fit the configured families on train, choosing on val what needs choosing.

    Refitting (`val` None, `chosen` the families fitted with val, `train` their train + val),
    trees grow the rounds early stopping chose scaled by the rows added, the ensemble keeps
    its calibration, and every family keeps the validation logits it was chosen with (the
    manifest's threshold and validation metrics)."""
    seed = params["seed"]
    wanted = params["families"]
    trained: dict[str, Trained] = {}

    def step(name: str) -> TaskID | None:
        label = f"train {name}" if val else f"refit {name} on train + val"
        return progress.add_task(label, total=None) if progress else None

    def done(task: TaskID | None) -> None:
        if progress is not None and task is not None:
            progress.update(task, total=1, completed=1)

    def chosen_model(family: str) -> Trained:
        if chosen is None or family not in chosen:
            raise ValueError(f"refitting {family} needs the model chosen on validation")
        return chosen[family]

    def refit_rounds(tree_params: dict[str, Any], family: str) -> dict[str, Any]:
        """More rows need more rounds to fit as closely: as many more as there are rows."""
        fitted_rows = chosen_model(family).extra["rows"]
        rounds = round(chosen_model(family).rounds * len(train.raw) / fitted_rows)
        return {**tree_params, "num_boost_round": rounds}

    lexical = [lexical_matrix(train.urls)] + ([lexical_matrix(val.urls)] if val else [])
    rows = {"rows": len(train.raw)}
    if "gbm" in wanted:
        task, start = step("gbm"), time.perf_counter()
        if val is None:
            trees = fit_trees((lexical[0], train.y), None, refit_rounds(params["gbm"], "gbm"), seed)
            val_logits = chosen_model("gbm").val_logits
        else:
            trees = fit_trees((lexical[0], train.y), (lexical[1], val.y), params["gbm"], seed)
            val_logits = trees.logits(lexical[1])
        trained["gbm"] = Trained(
            "gbm", val_logits, {TREES_FILE: trees.to_arrays()},
            {"lexical": list(LEXICAL_FEATURES), **rows}, time.perf_counter() - start,
            trees.roots.size,
        )  # fmt: skip
        done(task)
    if "linear" in wanted or "ensemble" in wanted:
        task, start = step("linear"), time.perf_counter()
        linear = fit_linear(train.raw, train.y, params["linear"], seed)
        val_logits = chosen_model("linear").val_logits if val is None else linear.logits(val.urls)
        trained["linear"] = Trained(
            "linear", val_logits, {LINEAR_FILE: linear.to_arrays()},
            {"ngram": linear.config.to_dict(), **rows}, time.perf_counter() - start,
        )  # fmt: skip
        done(task)
        if "ensemble" in wanted:
            task, start = step("ensemble"), time.perf_counter()
            if val is None:
                ensemble_params = {**params["ensemble"]}
                ensemble_params["gbm"] = refit_rounds(ensemble_params["gbm"], "ensemble")
                calibrated = chosen_model("ensemble")
                ensemble = train_ensemble(
                    train, calibrated, lexical, linear, {**params, "ensemble": ensemble_params}
                )
            else:
                ensemble = train_ensemble(train, val, lexical, linear, params)
            ensemble.extra.update(rows)
            ensemble.seconds = trained["linear"].seconds + time.perf_counter() - start
            trained["ensemble"] = ensemble
            done(task)
    return [trained[name] for name in FAMILIES if name in wanted]


def manifest_for(
    model: Trained,
    val: Split,
    params: dict[str, Any],
    data_sha256: str,
    feature_distributions: dict[str, Any],
    created: str | None = None,
) -> dict[str, Any]:
    """The model.json of a trained model; `created` defaults to now (`build_time`)."""
    probabilities = sigmoid(model.val_logits)
    threshold = best_f1_threshold(val.y, probabilities)
    featurizer = {
        k: v for k, v in model.extra.items() if k in ("ngram", "lexical", "views", "tld_prior")
    }
    manifest: dict[str, Any] = {
        "name": model.family,
        "family": model.family,
        "version": str(params["model_version"]),
        "created": created or build_time(),
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
        "training_rows": model.extra["rows"],
        "refit_on_validation": bool(params.get("refit")),
    }
    if "stacker" in model.extra:
        manifest["stacker"] = model.extra["stacker"]
    return manifest


def files_sha256(paths: Iterable[Path]) -> str:
    """sha256 of the files' contents one after the other (the data a model was fitted on)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Built:
    """A written artifact's manifest and how long its fits took (not in the artifact)."""

    manifest: dict[str, Any]
    seconds: float


def train(root: Path | None = None) -> list[Built]:
    root = root or project_root()
    params = load_params(root)["train"]
    paths = Paths(root)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("load splits", total=2)
        train_split = load_labelled_split(paths.prepared / "train.txt")
        progress.advance(task)
        val_split = load_labelled_split(paths.prepared / "val.txt")
        progress.advance(task)
        fitted_splits = ("train", "val") if params.get("refit") else ("train",)
        built = build_models(
            train_split, val_split, params, paths.models,
            data_sha256=files_sha256(paths.prepared / f"{name}.txt" for name in fitted_splits),
            progress=progress,
        )  # fmt: skip
    times = {b.manifest["name"]: {"seconds": round(b.seconds, 3)} for b in built}
    paths.training_times.parent.mkdir(parents=True, exist_ok=True)
    paths.training_times.write_text(json.dumps(times, indent=2) + "\n", encoding="utf-8")
    return built


def build_models(
    train_split: Split,
    val_split: Split,
    params: dict[str, Any],
    models_dir: Path,
    data_sha256: str = "",
    progress: Progress | None = None,
) -> list[Built]:
    """Train the configured families and write one artifact each under models_dir/<family>."""
    models = train_families(train_split, val_split, params, progress)
    fitted = train_split
    if params.get("refit"):
        fitted = Split(
            train_split.raw + val_split.raw,
            train_split.urls + val_split.urls,
            np.concatenate([train_split.y, val_split.y]),
        )
        chosen = {model.family: model for model in models}
        models = train_families(fitted, None, params, progress, chosen)
        for model in models:
            model.seconds += chosen[model.family].seconds
    distributions = reference_distributions(fitted.texts)  # the same for every family
    created = build_time()  # one moment for the whole build, so that one epoch rebuilds it
    built = []
    for model in models:
        manifest = manifest_for(model, val_split, params, data_sha256, distributions, created)
        write_artifact(models_dir / model.family, manifest, model.weights)
        built.append(Built(manifest, model.seconds))
    return built


def main() -> None:
    for built in train():
        manifest, validation = built.manifest, built.manifest["metrics"]["validation"]
        print(
            f"{manifest['name']:>9}: val F1 {validation['f1']:.4f} ROC AUC {validation['roc_auc']:.5f} "
            f"threshold {manifest['threshold']:.3f} ({built.seconds:.1f} s)"
        )


if __name__ == "__main__":
    main()
