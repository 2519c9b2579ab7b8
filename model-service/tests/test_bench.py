"""The benchmark, run briefly: it must measure every case without failed requests."""

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from model_service import bench
from model_service.bench import run_bench, sample_urls
from model_service.bench.loadgen import LoadResult, generate_load, http_request
from model_service.bench.predictor import fit_line, run_predictor_bench
from model_service.bench.service import RunningService, running_service


@pytest.mark.slow
def test_bench_measures_every_case(artifact_root: Path) -> None:
    results = run_bench(artifact_root, seconds=0.3, connections=2, batch_size=20)
    for case in (
        "bare_json",
        "single_predict",
        "single_predict_no_explanation",
        "single_predict_linear_no_explanation",
        "batch_predict_linear",
    ):
        assert results[case]["requests_per_s"] > 0, case
        assert results[case]["failures"] == 0, case
        assert 0 < results[case]["p50_ms"] <= results[case]["p99_ms"], case
    assert results["single_predict_linear_no_explanation"]["model"] == "linear"
    single = results["single_predict"]
    assert single["model"] is None
    # Against the bare endpoint measured in the slices between the case's own.
    assert single["paired_bare_requests_per_s"] > 0
    assert single["ratio_to_bare"] == pytest.approx(  # both sides are rounded figures
        single["requests_per_s"] / single["paired_bare_requests_per_s"], abs=0.001
    )
    assert single["at_half_rate"]["rate_per_s"] == pytest.approx(
        single["requests_per_s"] / 2, rel=0.01
    )
    batch = results["batch_predict_linear"]
    assert batch["items_per_s"] == pytest.approx(batch["requests_per_s"] * 20, abs=2)
    assert 0 < results["rss_mib"] <= results["peak_rss_mib"]


def test_sample_urls_are_distinct_and_reproducible() -> None:
    urls = sample_urls(500)
    assert len(set(urls)) == 500
    assert urls == sample_urls(500)
    assert urls != sample_urls(500, seed=1)


def test_http_request_encoding() -> None:
    assert (
        http_request("GET", "/x") == b"GET /x HTTP/1.1\r\nHost: bench\r\nContent-Length: 0\r\n\r\n"
    )
    post = http_request("POST", "/y", b"{}")
    assert post.endswith(b"Content-Type: application/json\r\n\r\n{}")


def test_load_result_statistics() -> None:
    result = LoadResult(requests=4, failures=1, seconds=2.0, latencies=[0.001, 0.002, 0.003])
    assert result.throughput == 1.5  # the three answered with 200
    assert result.percentile_ms(50) == pytest.approx(2.0)
    assert math.isnan(LoadResult(0, 0, 1.0, []).percentile_ms(99))


def test_paired_slices_merge_into_one_result() -> None:
    slices = [
        (LoadResult(10, 1, 0.5, [0.001] * 9), 0.02),
        (LoadResult(30, 0, 1.5, [0.003] * 30), 0.04),
    ]
    merged, cpu = bench._merged(slices)
    assert (merged.requests, merged.failures, merged.seconds) == (40, 1, 2.0)
    assert merged.throughput == 19.5
    assert len(merged.latencies) == 39
    assert cpu == pytest.approx(0.06)
    assert bench._figures(merged, cpu)["server_cpu_ms_per_request"] == 1.5


def test_open_loop_keeps_its_rate_and_counts_failures() -> None:
    """Against a tiny server answering 404: the rate holds and every answer is a failure."""

    async def scenario() -> LoadResult:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.IncompleteReadError):  # the client hung up
                while await reader.readuntil(b"\r\n\r\n"):
                    writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno")
                    await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await generate_load(
                "127.0.0.1", port, [http_request("GET", "/")], 2, 1.0, rate=50
            )
        finally:
            server.close()

    result = asyncio.run(scenario())
    assert 40 <= result.requests <= 52
    assert result.failures == result.requests
    assert result.latencies == []


def test_failed_requests_are_no_throughput() -> None:
    """A case whose every answer is an error (a model the directory lacks: 404) must not
    show the rate of its error answers as requests or items served, nor halve it for the
    half-rate run."""
    failed = LoadResult(requests=900, failures=900, seconds=1.0, latencies=[])
    figures = bench._figures(failed, 0.3, items_per_request=20)
    assert figures["requests_per_s"] == 0.0
    assert figures["items_per_s"] == 0.0
    assert figures["failures"] == 900
    half = LoadResult(requests=100, failures=40, seconds=2.0, latencies=[0.001] * 60)
    assert bench._figures(half, 0.1)["requests_per_s"] == 30.0


class _InProcessService:
    """Stands in for the service process: a server on this process's event loop."""

    def __init__(self, port: int) -> None:
        self.host, self.port = "127.0.0.1", port

    def cpu_seconds(self) -> float:
        return time.process_time()


def test_cases_answered_only_with_errors_measure_no_rate() -> None:
    """Against a server that knows no model (every predict a 404, the bare endpoint 200):
    the predict cases serve nothing, so there is no half rate to offer either."""

    async def scenario() -> dict[str, Any]:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionResetError):
                while head := await reader.readuntil(b"\r\n\r\n"):
                    length = next(
                        (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                         if line.lower().startswith(b"content-length:")), 0,
                    )  # fmt: skip
                    await reader.readexactly(length)
                    status = b"200 OK" if head.startswith(b"GET /health/live ") else b"404 No"
                    writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 2\r\n\r\n{}")
                    await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            service = cast(RunningService, _InProcessService(port))
            return await bench._measure(bench._Bench(service, 0.2, 2), batch_size=10)
        finally:
            server.close()

    results = asyncio.run(scenario())
    assert results["bare_json"]["requests_per_s"] > 0
    assert results["bare_json"]["failures"] == 0
    for case in (*(name for name, _, _ in bench.SINGLE_CASES), "batch_predict_linear"):
        assert results[case]["failures"] > 0, case
        assert results[case]["requests_per_s"] == 0.0, case
        assert results[case]["items_per_s"] == 0.0, case
    for name, _, _ in bench.SINGLE_CASES:
        assert results[name]["ratio_to_bare"] == 0.0
        assert results[name]["at_half_rate"] is None


def test_main_prints_the_figures_as_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench, "run_bench", lambda: {"rss_mib": 100.0})
    bench.main()
    assert json.loads(capsys.readouterr().out) == {"rss_mib": 100.0}


@pytest.mark.slow
def test_a_service_that_cannot_start_is_reported_with_its_log(
    models_copy: Path, tamper: Callable[[Path], Path]
) -> None:
    tamper(models_copy / "linear")
    with (
        pytest.raises(RuntimeError, match=r"exited during start-up:(.|\n)*sha256"),
        running_service(models_copy),
    ):
        pytest.fail("the service must not start")


def test_fit_line_splits_time_into_a_cost_per_call_and_per_url() -> None:
    per_call, per_url = fit_line((1, 2, 4, 16), [0.35 + 0.07 * n for n in (1, 2, 4, 16)])
    assert per_call == pytest.approx(0.35)
    assert per_url == pytest.approx(0.07)


def test_predictor_bench_times_every_model_with_and_without_explanations(
    artifact_root: Path,
) -> None:
    results = run_predictor_bench(artifact_root, batch_sizes=(1, 4), urls_per_size=8, repeats=1)
    assert set(results["models"]) == {"ensemble", "gbm", "linear"}
    for cases in results["models"].values():
        assert set(cases) == {"explain_top_k_0", "explain_top_k_5"}
        for row in cases.values():
            assert set(row["ms_per_call"]) == {"1", "4"}
            assert all(ms > 0 for ms in row["ms_per_call"].values())
            # Two sizes: the fitted line passes through both points.
            one, four = row["ms_per_call"]["1"], row["ms_per_call"]["4"]
            assert row["fitted_ms_per_url"] == pytest.approx((four - one) / 3, abs=2e-4)
    assert results["settings"] == {
        "model_dir": str(artifact_root), "batch_sizes": [1, 4], "urls_per_size": 8, "repeats": 1
    }  # fmt: skip


def test_predictor_bench_refuses_urls_that_leave_a_partial_batch(artifact_root: Path) -> None:
    with pytest.raises(ValueError, match=r"10 URLs do not split into batches of \[4\]"):
        run_predictor_bench(artifact_root, batch_sizes=(1, 2, 4), urls_per_size=10)
