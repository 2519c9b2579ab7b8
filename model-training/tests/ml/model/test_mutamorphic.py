"""Mutamorphic tests: verdicts hold under semantics-preserving URL rewrites (lib_ml.mutants),
with an oracle on the flip rate and the largest probability change, before and with repair."""

import hashlib
from typing import Any

import numpy as np
import pytest

from lib_ml import Predictor
from lib_ml.mutants import REWRITES, follow_ups
from lib_ml.scorers import sigmoid
from model_training.mutamorphic import (
    RewriteOutcome,
    mutamorphic_report,
    oracle_violations,
    render_markdown,
    rewrite_outcomes,
    write_report,
)
from model_training.train import Split

SAMPLE = 150  # test URLs: enough for every rewrite to apply tens of times


@pytest.fixture(scope="module")
def urls(splits: dict[str, Split]) -> list[str]:
    """SAMPLE test URLs, those with several query parameters first (they are rare)."""
    reorderable = [u for u in splits["test"].raw if "query_order" in follow_ups(u)]
    chosen = set(reorderable)
    others = [u for u in splits["test"].raw if u not in chosen]
    return (reorderable + others)[:SAMPLE]


@pytest.fixture(scope="module")
def report(ensemble: Predictor, urls: list[str]) -> dict[str, Any]:
    return mutamorphic_report(ensemble, urls)


def outcomes(rows: list[dict[str, Any]]) -> list[RewriteOutcome]:
    return [RewriteOutcome(r["rewrite"], r["urls"], r["flips"], r["max_change"]) for r in rows]


def test_every_rewrite_applies_to_real_urls(report: dict[str, Any]) -> None:
    applied = {row["rewrite"]: row["urls"] for row in report["plain"]}
    assert list(applied) == list(REWRITES)
    assert all(count >= 10 for count in applied.values()), applied


def test_the_model_passes_the_oracle(report: dict[str, Any], thresholds: dict[str, Any]) -> None:
    limits = thresholds["mutamorphic"]
    violations = oracle_violations(
        outcomes(report["plain"]), limits["max_flip_rate"], limits["max_probability_change"]
    )
    assert violations == []


def test_the_repaired_model_passes_the_strict_oracle(
    report: dict[str, Any], thresholds: dict[str, Any], record_testsuite_property: Any
) -> None:
    limits = thresholds["mutamorphic"]
    violations = oracle_violations(
        outcomes(report["repaired"]),
        limits["repaired_max_flip_rate"],
        limits["repaired_max_probability_change"],
    )
    assert violations == []
    # The flip rates before and after repair reach the ML Test Score report.
    for plain, repaired in zip(report["plain"], report["repaired"], strict=True):
        record_testsuite_property(
            f"label flips under the {plain['rewrite']} rewrite ({SAMPLE} test URLs)",
            f"{plain['flip_rate']:.2%} of {plain['urls']} before repair, "
            f"{repaired['flip_rate']:.2%} with repair",
        )


def test_repair_never_flips_more_than_the_plain_model(report: dict[str, Any]) -> None:
    for plain, repaired in zip(report["plain"], report["repaired"], strict=True):
        assert repaired["flip_rate"] <= plain["flip_rate"], plain["rewrite"]
    assert sum(r["flips"] for r in report["plain"]) > sum(r["flips"] for r in report["repaired"])


class RawStringModel(Predictor):
    """A deliberately broken model: its score hashes the URL as written, so any rewrite
    moves it (it reads the string, not the resource)."""

    def predict_proba(self, urls: Any, *, repair: bool = False) -> np.ndarray:
        assert not repair  # these tests never ask it to repair
        digests = [hashlib.sha256(u.encode()).digest()[0] for u in urls]
        return sigmoid((np.array(digests, dtype=np.float64) - 127.5) / 16)


class NormalizedTextModel(Predictor):
    """Its score hashes the normalized text: only what normalization keeps can move it."""

    def logits_normalized(self, urls: Any) -> np.ndarray:
        digests = [hashlib.sha256(u.text.encode()).digest()[0] for u in urls]
        return (np.array(digests, dtype=np.float64) - 127.5) / 16


def flagged_rewrites(model: Predictor, urls: list[str], limits: dict[str, Any]) -> set[str]:
    violations = oracle_violations(
        rewrite_outcomes(model, urls), limits["max_flip_rate"], limits["max_probability_change"]
    )
    return {line.split(":")[0] for line in violations}


def test_the_oracle_catches_a_model_that_reads_the_string(
    models: Any, urls: list[str], thresholds: dict[str, Any]
) -> None:
    broken = RawStringModel.load(models / "ensemble")
    assert flagged_rewrites(broken, urls, thresholds["mutamorphic"]) == set(REWRITES)


def test_only_a_trailing_slash_and_the_query_order_reach_the_normalized_text(
    models: Any, urls: list[str], thresholds: dict[str, Any]
) -> None:
    # Host case and scheme, the default port, escaped unreserved characters and dot segments
    # are normalized away (lib_ml.urls), so no model can flip on them.
    model = NormalizedTextModel.load(models / "ensemble")
    assert flagged_rewrites(model, urls, thresholds["mutamorphic"]) == {
        "trailing_slash",
        "query_order",
    }


def test_the_strict_oracle_catches_a_repair_that_does_nothing(
    ensemble: Predictor,
    urls: list[str],
    thresholds: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lib_ml import predictor as predictor_module
    from lib_ml.urls import normalize_url

    monkeypatch.setattr(predictor_module, "mutant_set", lambda url: [normalize_url(url)])
    limits = thresholds["mutamorphic"]
    violations = oracle_violations(
        rewrite_outcomes(ensemble, urls, repair=True),
        limits["repaired_max_flip_rate"],
        limits["repaired_max_probability_change"],
    )
    assert violations


def test_report_files(report: dict[str, Any], tmp_path: Any) -> None:
    json_path, markdown = write_report(report, tmp_path)
    assert json_path.name == "mutamorphic.json"
    table = markdown.read_text()
    assert table == render_markdown(report)
    assert table.count("\n| ") == len(REWRITES) + 1
    assert f"ensemble on {SAMPLE} URLs" in table


def test_outcome_without_urls_has_no_flip_rate() -> None:
    assert RewriteOutcome("x", 0, 0, 0.0).flip_rate == 0.0
    assert oracle_violations([RewriteOutcome("x", 10, 5, 0.9)], 0.1, 0.5) == [
        "x: 50.0% of 10 URLs flip (at most 10.0%)",
        "x: P(phishing) changes by up to 0.900 (at most 0.5)",
    ]
