"""The reference baseline of the targets: its two variants differ only in reading the scheme,
its choices are made on validation, and the model is scored beside it in the same way."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from lib_ml import Predictor
from model_training.metrics import best_f1_threshold
from model_training.reference_baseline import (
    C_GRID,
    FittedBaseline,
    baseline_report,
    baseline_text,
    reference_baseline,
)
from model_training.scheme_shortcut import phishing_on_https
from model_training.sources import Example


@pytest.mark.parametrize(
    ("variant", "expected"),
    [("as written", "HTTPS://Example.COM/A"), ("scheme-free", "example.com/A")],
)
def test_what_each_variant_reads(variant: str, expected: str) -> None:
    assert baseline_text("  HTTPS://Example.COM/A ", variant) == expected


def test_an_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown baseline variant"):
        baseline_text("example.com", "words")


@pytest.fixture(scope="module")
def fitted(examples: dict[str, list[Example]]) -> dict[str, FittedBaseline]:
    return {
        variant: FittedBaseline.fit(variant, examples["train"], examples["val"], seed=0)
        for variant in ("as written", "scheme-free")
    }


def test_only_the_scheme_free_variant_ignores_a_move_to_https(
    fitted: dict[str, FittedBaseline], examples: dict[str, list[Example]]
) -> None:
    test, moved = examples["test"], phishing_on_https(examples["test"])
    scheme_free, as_written = fitted["scheme-free"], fitted["as written"]
    np.testing.assert_array_equal(scheme_free.scores(test), scheme_free.scores(moved))
    assert not np.allclose(as_written.scores(test), as_written.scores(moved))


def test_the_c_and_threshold_are_the_best_on_validation(
    fitted: dict[str, FittedBaseline], examples: dict[str, list[Example]]
) -> None:
    train, validation = examples["train"], examples["val"]
    y_train = np.array([e.label for e in train])
    y_val = np.array([e.label for e in validation])
    for baseline in fitted.values():
        x_train = baseline.vectorizer.transform(
            [baseline_text(e.url, baseline.variant) for e in train]
        )
        x_val = baseline.vectorizer.transform(
            [baseline_text(e.url, baseline.variant) for e in validation]
        )
        auc = {}
        for c in C_GRID:
            model = LogisticRegression(C=c, max_iter=2000, random_state=0).fit(x_train, y_train)
            auc[c] = roc_auc_score(y_val, model.predict_proba(x_val)[:, 1])
        assert baseline.c == max(auc, key=auc.__getitem__)
        assert baseline.threshold == best_f1_threshold(y_val, baseline.scores(validation))


def test_a_refitted_variant_keeps_its_choices_and_learns_validation_too(
    fitted: dict[str, FittedBaseline], examples: dict[str, list[Example]]
) -> None:
    train, validation = examples["train"], examples["val"]
    for baseline in fitted.values():
        refitted = baseline.refitted(train, validation)
        assert (refitted.variant, refitted.c, refitted.threshold) == (
            baseline.variant, baseline.c, baseline.threshold,
        )  # fmt: skip
        vocabulary = set(baseline.vectorizer.vocabulary_)
        texts = [baseline_text(e.url, baseline.variant) for e in validation]
        only_in_validation = (
            set(TfidfVectorizer(analyzer="char", ngram_range=(1, 5)).fit(texts).vocabulary_)
            - vocabulary
        )
        assert only_in_validation
        assert set(refitted.vectorizer.vocabulary_) == vocabulary | only_in_validation


def test_the_report_adds_refitted_variants_when_training_refits(
    models: Path, examples: dict[str, list[Example]]
) -> None:
    predictor = Predictor.load(models / "ensemble")
    sets = {"test": examples["test"]}
    report = baseline_report(predictor, examples["train"], examples["val"], sets, 0, refit=True)
    assert report["baseline"]["refit"] is True
    assert list(report["scorers"]) == [
        "baseline (as written)",
        "baseline (as written, refitted)",
        "baseline (scheme-free)",
        "baseline (scheme-free, refitted)",
        "model ensemble",
    ]
    for variant in ("as written", "scheme-free"):
        chosen = report["scorers"][f"baseline ({variant})"]
        refitted = report["scorers"][f"baseline ({variant}, refitted)"]
        assert (refitted["C"], refitted["threshold"]) == (chosen["C"], chosen["threshold"])
        assert refitted["sets"]["test"] != chosen["sets"]["test"]


def test_the_report_scores_the_model_as_evaluate_does(
    models: Path, examples: dict[str, list[Example]]
) -> None:
    predictor = Predictor.load(models / "ensemble")
    test = examples["test"]
    feed = [e for e in test if e.label == 1][:50]  # one label, as a phishing feed has
    sets = {"test": test, "feed": feed}
    report = baseline_report(predictor, examples["train"], examples["val"], sets, 0)
    assert report["baseline"]["refit"] is False
    assert list(report["scorers"]) == [
        "baseline (as written)",
        "baseline (scheme-free)",
        "model ensemble",
    ]
    model = report["scorers"]["model ensemble"]
    assert model["threshold"] == predictor.threshold
    y = [e.label for e in test]
    expected = roc_auc_score(y, predictor.predict_proba([e.url for e in test]))
    assert model["sets"]["test"]["roc_auc"] == pytest.approx(expected)
    for scorer in ("baseline (as written)", "baseline (scheme-free)"):
        row = report["scorers"][scorer]["sets"]["test"]
        assert 0.5 < row["roc_auc"] <= 1.0
        assert 0.0 < row["f1"] <= 1.0
    for scorer in report["scorers"].values():
        assert scorer["sets"]["feed"]["roc_auc"] is None
        assert 0.0 < scorer["sets"]["feed"]["recall"] <= 1.0


def test_the_report_file(
    models: Path, tmp_path: Path, examples: dict[str, list[Example]], params: dict[str, Any]
) -> None:
    train = {**params["train"], "seed": 3, "refit": True}
    project = {"data": {"mirror": "absent", "sources": []}, "evaluate": {"external": []}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**project, "train": train}))
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    for split in ("train", "val", "test"):
        lines = [f"{'phishing' if e.label else 'legitimate'}\t{e.url}\n" for e in examples[split]]
        (prepared / f"{split}.txt").write_text("".join(lines), encoding="utf-8")
    report, path = reference_baseline(models / "ensemble", root=tmp_path)
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert loaded == report
    assert report["baseline"]["refit"] is True  # as train.refit in params.yaml
    assert list(report["scorers"]["model ensemble"]["sets"]) == ["test"]
