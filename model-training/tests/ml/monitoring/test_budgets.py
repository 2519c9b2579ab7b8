"""Computing performance has not regressed: time and peak memory of featurize, predict one,
predict a batch and train stay within the budgets of budgets.yaml; a regressed method is
caught."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lib_ml import Predictor, normalize_url
from lib_ml.features import lexical_matrix
from lib_ml.matrices import ngram_counts, tfidf_rows
from model_training.feature_cost import measure
from model_training.train import Split

BATCH = 1000
# The process's CPU time, all its threads: other jobs on a shared CI machine slow the wall
# clock of a method (a train of 15 s measured 43 s beside three others), not its CPU time.
CPU_CLOCK = time.process_time


def over_budget(method: str, seconds: float, peak_mib: float, budgets: dict[str, Any]) -> list[str]:
    budget = budgets[method]
    problems = []
    if seconds > budget["seconds"]:
        problems.append(f"{method}: {seconds:.3f} s, budget {budget['seconds']} s")
    if peak_mib > budget["peak_mib"]:
        problems.append(f"{method}: {peak_mib:.1f} MiB, budget {budget['peak_mib']} MiB")
    return problems


@pytest.fixture(scope="module")
def batch(splits: dict[str, Split]) -> list[str]:
    urls = splits["train"].raw[:BATCH]
    assert len(urls) == BATCH
    return urls


def methods(model: Predictor, batch: list[str]) -> dict[str, tuple[Callable[[], Any], int]]:
    """The monitored methods (named as in budgets.yaml) and how many timed runs each gets."""
    linear = model.linear
    assert linear is not None

    def featurize() -> Any:
        urls = [normalize_url(u) for u in batch]
        return tfidf_rows(ngram_counts(urls, linear.config), linear.idf), lexical_matrix(urls)

    return {
        "featurize": (featurize, 3),
        "predict_one": (lambda: model.predict_one(batch[0]), 3),
        "predict_batch": (lambda: model.predict_proba(batch), 3),
    }


@pytest.mark.parametrize("method", ["featurize", "predict_one", "predict_batch"])
def test_method_within_budget(
    ensemble: Predictor,
    batch: list[str],
    budgets: dict[str, Any],
    method: str,
    tmp_path: Path,
    record_testsuite_property: Any,
) -> None:
    function, repeats = methods(ensemble, batch)[method]
    seconds, peak, _ = measure(function, tmp_path / "capture.bin", repeats, CPU_CLOCK)
    record_testsuite_property(f"cost of {method}", f"{seconds * 1000:.1f} ms, peak {peak:.2f} MiB")
    assert over_budget(method, seconds, peak, budgets) == []


def test_training_within_budget(
    train_small: Callable[..., Path],
    budgets: dict[str, Any],
    tmp_path: Path,
    record_testsuite_property: Any,
) -> None:
    seconds, peak, directory = measure(
        lambda: train_small(tmp_path / "models"), tmp_path / "capture.bin", 1, CPU_CLOCK
    )
    record_testsuite_property("cost of train", f"{seconds:.2f} s, peak {peak:.1f} MiB")
    assert (directory / "ensemble" / "model.json").is_file()
    assert over_budget("train", seconds, peak, budgets) == []


def test_a_regressed_method_is_caught(
    ensemble: Predictor, batch: list[str], budgets: dict[str, Any], tmp_path: Path
) -> None:
    budget = budgets["predict_one"]

    def regressed() -> Any:
        # Twice the time and twice the memory of the budget: a clear regression.
        ballast = np.ones(int(2 * budget["peak_mib"] * 2**20 // 8))
        busy_until = CPU_CLOCK() + 2 * budget["seconds"]
        while CPU_CLOCK() < busy_until:
            pass
        return ensemble.predict_one(batch[0]), ballast.sum()

    seconds, peak, _ = measure(regressed, tmp_path / "capture.bin", 1, CPU_CLOCK)
    time_problem, memory_problem = over_budget("predict_one", seconds, peak, budgets)
    assert " s, budget " in time_problem
    assert " MiB, budget " in memory_problem
