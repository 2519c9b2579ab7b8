"""Model quality: a simpler model is not better, quality holds on every important slice and
for sites of every country, training and serving compute the same thing, and the numbers
stay finite. Each check catches a deliberately broken model."""

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from lib_ml import Predictor, normalize_url, write_artifact
from lib_ml import features as lib_features
from lib_ml.artifact import read_artifact
from lib_ml.drift import drift_values
from lib_ml.urls import MAX_URL_LENGTH, split_host
from model_training.metrics import classification_metrics, slice_metrics
from model_training.train import Split

Scores = npt.NDArray[np.float64]


def simple_baseline(train: Split, test: Split) -> Scores:
    """Logistic regression on four numbers per URL: length and character-class shares."""
    features = [
        np.column_stack(list(drift_values(split.texts).values())) for split in (train, test)
    ]
    model = LogisticRegression(random_state=0, max_iter=1000).fit(features[0], train.y)
    return np.asarray(model.predict_proba(features[1])[:, 1], dtype=np.float64)


def test_a_simpler_model_is_not_better(models: Path, splits: dict[str, Split]) -> None:
    test = splits["test"]
    auc = {
        family: roc_auc_score(test.y, Predictor.load(models / family).predict_proba(test.raw))
        for family in ("linear", "gbm", "ensemble")
    }
    auc["baseline"] = roc_auc_score(test.y, simple_baseline(splits["train"], test))
    assert auc["ensemble"] == max(auc.values()), auc


def test_a_broken_model_is_worse_than_the_baseline(
    broken_ensemble: Predictor, splits: dict[str, Split]
) -> None:
    test = splits["test"]
    broken = roc_auc_score(test.y, broken_ensemble.predict_proba(test.raw))
    assert broken < roc_auc_score(test.y, simple_baseline(splits["train"], test))


def weak_slices(model: Predictor, split: Split, floor: float, min_size: int) -> dict[str, float]:
    scores = model.predict_proba(split.raw)
    slices = slice_metrics(split.urls, split.y, scores, model.threshold)
    return {
        f"{name}={value}": metrics["roc_auc"]
        for name, values in slices.items()
        for value, metrics in values.items()
        if metrics["n"] >= min_size
        and metrics["roc_auc"] is not None
        and metrics["roc_auc"] < floor
    }


def test_quality_on_every_slice(
    ensemble: Predictor, splits: dict[str, Split], thresholds: dict[str, Any]
) -> None:
    limits = thresholds["model"]
    held_out = held_out_split(splits)
    assert (
        weak_slices(ensemble, held_out, limits["min_slice_roc_auc"], limits["min_slice_size"]) == {}
    )


class ShortSightedModel(Predictor):
    """A deliberately broken model: it scores long URLs at random."""

    def logits_normalized(self, urls: Any) -> Scores:
        logits = super().logits_normalized(urls)
        noise = np.random.default_rng(0).normal(0.0, 50.0, len(urls))
        long_url = np.array([len(u.text) >= 100 for u in urls])
        return np.where(long_url, noise, logits)


def test_a_model_weak_on_one_slice_is_caught(
    models: Path, splits: dict[str, Split], thresholds: dict[str, Any]
) -> None:
    limits = thresholds["model"]
    weak = weak_slices(
        ShortSightedModel.load(models / "ensemble"), held_out_split(splits),
        limits["min_slice_roc_auc"], limits["min_slice_size"],
    )  # fmt: skip
    assert "url_length=>=100" in weak


def held_out_split(splits: dict[str, Split]) -> Split:
    """val and test together: more URLs per slice (the models never trained on either)."""
    val, test = splits["val"], splits["test"]
    return Split(val.raw + test.raw, val.urls + test.urls, np.concatenate([val.y, test.y]))


def false_positive_gap(model: Predictor, split: Split) -> tuple[float, dict[str, int]]:
    """False-positive rate on legitimate sites under country-code TLDs minus that under
    generic TLDs (sites of every country should be treated alike)."""
    legitimate = [url for url, label in zip(split.raw, split.y, strict=True) if label == 0]
    flagged = model.predict_proba(legitimate) >= model.threshold
    country = np.array(
        [len(split_host(normalize_url(u).host).suffix.rsplit(".", 1)[-1]) == 2 for u in legitimate]
    )
    counts = {"country": int(country.sum()), "generic": int((~country).sum())}
    return float(flagged[country].mean() - flagged[~country].mean()), counts


def test_sites_of_every_country_are_treated_alike(
    ensemble: Predictor,
    splits: dict[str, Split],
    thresholds: dict[str, Any],
    record_testsuite_property: Any,
) -> None:
    gap, counts = false_positive_gap(ensemble, held_out_split(splits))
    record_testsuite_property(
        "false-positive rate on legitimate held-out URLs, country-code minus generic TLDs",
        f"{gap:+.3f} ({counts['country']} and {counts['generic']} URLs)",
    )
    assert counts["country"] >= 30
    assert gap <= thresholds["model"]["max_false_positive_gap"]


class CountryBiasedModel(Predictor):
    """A deliberately broken model: it distrusts country-code TLDs."""

    def logits_normalized(self, urls: Any) -> Scores:
        country = np.array([len(u.host.rsplit(".", 1)[-1]) == 2 for u in urls])
        return super().logits_normalized(urls) + 3.0 * country


def test_a_model_biased_against_country_code_sites_is_caught(
    models: Path, splits: dict[str, Split], thresholds: dict[str, Any]
) -> None:
    gap, _ = false_positive_gap(
        CountryBiasedModel.load(models / "ensemble"), held_out_split(splits)
    )
    assert gap > thresholds["model"]["max_false_positive_gap"]


def skewed_metrics(directory: Path, val: Split) -> dict[str, tuple[float, float]]:
    """Validation metrics recorded at training time vs recomputed through the serving path."""
    model = Predictor.load(directory)
    recorded = model.metrics["validation"]
    served = classification_metrics(val.y, model.predict_proba(val.raw), model.threshold)
    return {
        key: (recorded[key], served[key])
        for key in ("f1", "roc_auc", "log_loss", "brier")
        if not np.isclose(recorded[key], served[key], rtol=1e-6, atol=1e-9)
    }


@pytest.mark.parametrize("family", ["linear", "gbm", "ensemble"])
def test_training_and_serving_agree(models: Path, splits: dict[str, Split], family: str) -> None:
    assert skewed_metrics(models / family, splits["val"]) == {}


def test_a_featurizer_changed_after_training_is_caught(
    models: Path, splits: dict[str, Split], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = lib_features.lexical_vector
    monkeypatch.setattr(
        lib_features, "lexical_vector", lambda url: [x * 1.5 for x in original(url)]
    )
    assert set(skewed_metrics(models / "gbm", splits["val"])) >= {"log_loss", "brier"}


EXTREME_URLS = [
    "a.co",
    "http://" + "a" * 63 + ".com/" + "x/" * 2000,
    "a.com/" + "%41" * ((MAX_URL_LENGTH - 6) // 3),
    "http://[2001:db8::1]:65535/?" + "&".join(f"k{i}=v" for i in range(500)),
    "http://xn--80ak6aa92e.com/\u00e9\u00e8\u4e2d\u6587",
    "1.1.1.1",
    "http://user:pass@host.museum:1/" + "-" * 4000,
]


def numerical_problems(directory: Path) -> list[str]:
    """Non-finite weights, or scores outside [0, 1] on extreme inputs (with and without repair)."""
    artifact = read_artifact(directory)
    problems = [
        f"{file_name}:{key} is not finite"
        for file_name, arrays in artifact.weights.items()
        for key, array in arrays.items()
        if array.dtype.kind == "f" and not np.all(np.isfinite(array))
    ]
    model = Predictor(artifact)
    for repair in (False, True):
        scores = model.predict_proba(EXTREME_URLS, repair=repair)
        if not np.all((scores >= 0.0) & (scores <= 1.0)):  # NaN fails both comparisons
            problems.append(f"scores {scores.tolist()} (repair={repair})")
    return problems


@pytest.mark.parametrize("family", ["linear", "gbm", "ensemble"])
def test_models_are_numerically_stable(models: Path, family: str) -> None:
    assert numerical_problems(models / family) == []


def test_a_model_with_a_non_finite_weight_is_caught(models: Path, tmp_path: Path) -> None:
    artifact = read_artifact(models / "linear")
    weights = {name: dict(arrays) for name, arrays in artifact.weights.items()}
    weights["linear.npz"]["coef"] = np.full_like(weights["linear.npz"]["coef"], np.nan)
    write_artifact(tmp_path / "linear", artifact.manifest, weights)
    problems = numerical_problems(tmp_path / "linear")
    assert problems[0] == "linear.npz:coef is not finite"
    assert len(problems) == 3
