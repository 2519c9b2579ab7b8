"""The scheme-shortcut report: the models ignore the scheme, and a scheme term fitted on
Ebbu2017 learns the corpus's bias (https means legitimate), which costs recall as soon as
phishing moves to https."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lib_ml import Predictor
from model_training.scheme_shortcut import (
    CrossFittedTerm,
    SchemeTerm,
    model_columns,
    on_https,
    phishing_on_https,
    scheme_report,
    scheme_shortcut,
)
from model_training.sources import Example


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/a", "https://example.com/a"),
        ("HTTPS://example.com", "https://example.com"),
        ("example.com/login", "https://example.com/login"),
        ("  ftp://example.com/file ", "https://example.com/file"),
        ("example.com/?next=http://other.org", "https://example.com/?next=http://other.org"),
    ],
)
def test_on_https(url: str, expected: str) -> None:
    assert on_https(url) == expected


def test_only_phishing_moves_to_https() -> None:
    examples = [Example("http://a.com/", 0), Example("http://b.com/", 1)]
    assert phishing_on_https(examples) == [
        Example("http://a.com/", 0),
        Example("https://b.com/", 1),
    ]


def test_the_term_learns_which_scheme_goes_with_which_label() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    logits = rng.normal(2.0 * y - 1.0, 1.5)
    https = np.where(y == 1, rng.random(2000) < 0.05, rng.random(2000) < 0.6)
    term = SchemeTerm.fit(logits, https, y)
    assert term.https_weight < -1.0 < 0.5 < term.logit_weight
    assert 0.0 < term.threshold < 1.0
    legitimate_looking = term.scores(np.zeros(2), np.array([False, True]))
    assert legitimate_looking[1] < legitimate_looking[0]


@pytest.fixture(scope="module")
def report(models: Path, examples: dict[str, list[Example]]) -> dict[str, Any]:
    predictor = Predictor.load(models / "ensemble")
    return scheme_report(predictor, {"test": examples["test"]})


def test_the_models_ignore_the_scheme(report: dict[str, Any]) -> None:
    shifts = report["sets"]["test"]
    assert shifts["as is"]["model"] == shifts["phishing on https"]["model"]


def test_the_scheme_term_costs_recall_when_phishing_moves_to_https(
    report: dict[str, Any],
) -> None:
    assert report["term"]["https_weight"] < 0  # Ebbu2017's bias: https means legitimate
    shifts = report["sets"]["test"]
    as_is = shifts["as is"]["model with scheme"]
    shifted = shifts["phishing on https"]["model with scheme"]
    assert shifted["recall"] < as_is["recall"]
    assert shifted["false_positive_rate"] == as_is["false_positive_rate"]


def test_the_report_gives_each_labels_share_of_https_urls(models: Path) -> None:
    examples = [Example(f"https://www.site{i}.org/", 0) for i in range(3)]
    examples += [Example(f"http://www.shop{i}.com/", 0) for i in range(1)]
    examples += [Example(f"http://paypa1-login{i}.tk/verify", 1) for i in range(4)]
    report = scheme_report(Predictor.load(models / "ensemble"), {"test": examples})
    shifts = report["sets"]["test"]
    assert shifts["as is"]["https_share"] == {"legitimate": 0.75, "phishing": 0.0}
    assert shifts["phishing on https"]["https_share"] == {"legitimate": 0.75, "phishing": 1.0}


def test_a_set_of_one_label_gets_only_the_figures_it_defines(models: Path) -> None:
    test = [Example(f"https://www.site{i}.org/wiki/URL", 0) for i in range(10)]
    test += [Example(f"http://paypa1-login{i}.tk/verify", 1) for i in range(10)]
    feed = [Example(f"http://secure-paypa1-{i}.xyz/signin", 1) for i in range(3)]
    report = scheme_report(Predictor.load(models / "ensemble"), {"test": test, "feed": feed})
    for shift, https_share in (("as is", 0.0), ("phishing on https", 1.0)):
        outcome = report["sets"]["feed"][shift]
        assert outcome["https_share"] == {"legitimate": None, "phishing": https_share}
        for scorer in ("model", "model with scheme"):
            assert outcome[scorer]["roc_auc"] is None
            assert outcome[scorer]["false_positive_rate"] is None
            assert outcome[scorer]["recall"] in {0.0, 1 / 3, 2 / 3, 1.0}


def test_the_report_file(models: Path, tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(
        "data:\n  mirror: absent\n  sources: []\nevaluate:\n  external: []\n", encoding="utf-8"
    )
    (tmp_path / "data" / "prepared").mkdir(parents=True)
    # Sites enough for both halves of the cross-fitted term to hold both labels.
    lines = [f"legitimate\thttps://www.site{i}.org/wiki/URL" for i in range(10)]
    lines += [f"phishing\thttp://paypa1-login{i}.tk/verify" for i in range(10)]
    (tmp_path / "data" / "prepared" / "test.txt").write_text(
        "\n".join(lines) + "\n", encoding="utf-8"
    )
    report, path = scheme_shortcut(models / "ensemble", root=tmp_path)
    assert json.loads(path.read_text(encoding="utf-8")) == report
    assert list(report["sets"]) == ["test"]


def test_no_test_url_is_scored_by_a_term_fitted_on_it(
    ensemble: Predictor, examples: dict[str, list[Example]]
) -> None:
    test = examples["test"]
    cross_fitted = CrossFittedTerm.fit(test, ensemble)
    # Relabel the first half at random: its scores must not move, the second half's must.
    rng = np.random.default_rng(0)
    relabelled = [
        Example(e.url, int(rng.integers(0, 2))) if half == 0 else e
        for e, half in zip(test, cross_fitted.half, strict=True)
    ]
    moved = CrossFittedTerm.fit(relabelled, ensemble)
    logits, https, _ = model_columns(ensemble, test)
    before, after = cross_fitted.scores(logits, https)[0], moved.scores(logits, https)[0]
    first = cross_fitted.half == 0
    assert 0 < first.sum() < len(test)
    np.testing.assert_array_equal(before[first], after[first])
    assert not np.allclose(before[~first], after[~first])
