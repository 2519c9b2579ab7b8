"""The end-to-end benchmark's statistics and how it stops its stack (the processes and the
load: tests/reliability)."""

import math
import subprocess
from pathlib import Path

import pytest

from phishline.bench_e2e.load import Outcome
from phishline.bench_e2e.measure import percentile, summarize
from phishline.bench_e2e.stack import Stack


def outcome(index: int, latency: float, status: int | None = 200, code: str = "") -> Outcome:
    return Outcome(index, 10.0, 10.001, 10.0 + latency, status, code, "")


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert [percentile(values, q) for q in (1, 10, 50, 90, 99, 100)] == [1, 1, 5, 9, 10, 10]
    assert math.isnan(percentile([], 50))


def test_summary_counts_failures_by_code_and_times_successes_only() -> None:
    outcomes = [outcome(0, 0.010), outcome(1, 0.030), outcome(2, 0.020),
                outcome(3, 5.0, 503, "model_service_unavailable"),
                outcome(4, 0.001, None, "ConnectError"),
                outcome(5, 0.002, None, "ConnectError")]  # fmt: skip
    summary = summarize(outcomes, seconds=2.0)
    assert summary["requests"] == 6
    assert summary["errors"] == 3
    assert summary["error_codes"] == {"model_service_unavailable": 1, "ConnectError": 2}
    assert summary["requests_per_s"] == 1.5  # successful answers only
    assert (summary["p50_ms"], summary["p99_ms"], summary["max_ms"]) == (20.0, 30.0, 30.0)


def test_summary_of_nothing() -> None:
    summary = summarize([], seconds=0.0)
    assert (summary["requests"], summary["errors"], summary["requests_per_s"]) == (0, 0, 0.0)
    assert math.isnan(summary["p50_ms"])
    assert math.isnan(summary["max_ms"])


class StoppableStandIn:
    """A service whose stop may outlast its timeout (ServiceProcess kills it, then raises)."""

    def __init__(self, outlasts_its_stop: bool):
        self.outlasts_its_stop = outlasts_its_stop
        self.stopped = False

    def running(self) -> bool:
        return not self.stopped

    def stop(self) -> int:
        self.stopped = True
        if self.outlasts_its_stop:
            raise subprocess.TimeoutExpired("phishline serve app", 30.0)
        return 0


def test_a_service_that_outlasts_its_stop_does_not_leave_the_other_running(
    tmp_path: Path,
) -> None:
    model_service, app = StoppableStandIn(False), StoppableStandIn(True)
    stack = Stack(model_service, app, tmp_path / "feedback.db", "key")  # type: ignore[arg-type]
    with pytest.raises(subprocess.TimeoutExpired):
        stack.stop()
    assert model_service.stopped
