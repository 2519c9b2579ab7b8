"""Micro-batching of concurrent single-URL requests."""

import asyncio
import time
from typing import Any
from unittest import mock

import pytest

from lib_ml import BatchInputError, Predictor
from model_service.core.batching import (
    MAX_COALESCED,
    MAX_COALESCED_EXPLAINED,
    MAX_WAIT_TURNS,
    PredictionBatcher,
    Scored,
    predict_each,
)
from model_service.core.metrics import InFlightRequests
from model_service.core.registry import ModelRegistry


@pytest.fixture
def linear(registry: ModelRegistry) -> Predictor:
    return registry.models["linear"]


def spy(predictor: Predictor) -> Any:
    return mock.patch.object(predictor, "predict", wraps=predictor.predict)


async def gather_predictions(
    predictor: Predictor, urls: list[str], explain_top_k: int = 0
) -> list[Scored | BaseException]:
    batcher = PredictionBatcher()
    return await asyncio.gather(
        *(batcher.predict(predictor, url, explain_top_k) for url in urls), return_exceptions=True
    )


def test_concurrent_requests_share_one_predictor_call(linear: Predictor) -> None:
    urls = [f"http://site{i}.example.com/login" for i in range(10)]
    with spy(linear) as predict:
        started = time.perf_counter()
        results = asyncio.run(gather_predictions(linear, urls))
        elapsed = time.perf_counter() - started
    assert predict.call_count == 1
    expected = linear.predict(urls)
    assert [r.prediction for r in results if isinstance(r, Scored)] == expected
    assert all(isinstance(r, Scored) and 0 < r.seconds <= elapsed for r in results)


@pytest.mark.parametrize(
    ("explain_top_k", "cap"), [(0, MAX_COALESCED), (2, MAX_COALESCED_EXPLAINED)]
)
def test_batches_are_capped(
    linear: Predictor, explain_top_k: int, cap: int, caplog: pytest.LogCaptureFixture
) -> None:
    urls = [f"site{i}.example.com" for i in range(2 * cap + 1)]
    with spy(linear) as predict:
        results = asyncio.run(gather_predictions(linear, urls, explain_top_k))
    assert predict.call_count == 3
    assert [r.prediction.url for r in results if isinstance(r, Scored)] == urls
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


def test_explanation_sizes_are_not_mixed(linear: Predictor) -> None:
    async def mixed() -> list[Scored]:
        batcher = PredictionBatcher()
        return list(
            await asyncio.gather(
                batcher.predict(linear, "a.com/login", 0), batcher.predict(linear, "a.com/login", 3)
            )
        )

    with spy(linear) as predict:
        plain, explained = asyncio.run(mixed())
    assert predict.call_count == 2
    assert plain.prediction.explanation == []
    assert len(explained.prediction.explanation) == 3


def test_an_invalid_url_fails_alone(linear: Predictor) -> None:
    results = asyncio.run(gather_predictions(linear, ["a.com", "", "b.com", " ", "c.com"]))
    assert [type(r).__name__ for r in results] == [
        "Scored", "BatchInputError", "Scored", "BatchInputError", "Scored",
    ]  # fmt: skip
    error = results[1]
    assert isinstance(error, BatchInputError)
    assert error.reason == "the URL is empty"
    good = [r.prediction for r in results if isinstance(r, Scored)]
    assert good == linear.predict(["a.com", "b.com", "c.com"])


def test_predict_each_keeps_positions(linear: Predictor) -> None:
    outcomes = predict_each(linear, ["", "a.com", ""], 0)
    assert isinstance(outcomes[0], BatchInputError)
    assert not isinstance(outcomes[1], BatchInputError)
    assert outcomes[1].url == "a.com"
    assert isinstance(outcomes[2], BatchInputError)


def test_an_unexpected_error_reaches_every_waiter(
    linear: Predictor, caplog: pytest.LogCaptureFixture
) -> None:
    with mock.patch.object(linear, "predict", side_effect=RuntimeError("boom")):
        results = asyncio.run(gather_predictions(linear, ["a.com", "b.com"]))
    assert [str(r) for r in results] == ["boom", "boom"]
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


def test_a_cancelled_request_does_not_disturb_the_others(linear: Predictor) -> None:
    async def with_one_cancelled() -> list[Any]:
        batcher = PredictionBatcher()
        tasks = [asyncio.create_task(batcher.predict(linear, f"site{i}.com", 0)) for i in range(3)]
        await asyncio.sleep(0)  # every task has queued its URL; the flush has not run yet
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(with_one_cancelled())
    assert isinstance(results[1], asyncio.CancelledError)
    assert [r.prediction.url for r in (results[0], results[2])] == ["site0.com", "site2.com"]


def test_a_cancelled_request_is_skipped_when_its_batch_fails(linear: Predictor) -> None:
    async def cancelled_then_failed() -> list[Any]:
        batcher = PredictionBatcher()
        tasks = [asyncio.create_task(batcher.predict(linear, "a.com", 0)) for _ in range(2)]
        await asyncio.sleep(0)
        tasks[0].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    with mock.patch.object(linear, "predict", side_effect=RuntimeError("boom")):
        results = asyncio.run(cancelled_then_failed())
    assert isinstance(results[0], asyncio.CancelledError)
    assert str(results[1]) == "boom"


async def turns(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("in_flight", "calls"),
    [(2, 1), (1, 2)],
    ids=["waits a turn for an in-flight request to join", "no wait when every request waits"],
)
def test_a_flush_waits_only_for_in_flight_requests_not_yet_waiting(
    linear: Predictor, in_flight: int, calls: int
) -> None:
    """Two requests, the second a turn later: it joins the first's batch only while the
    in-flight count says a request is still on its way."""

    async def second_arrives_a_turn_later() -> list[Any]:
        batcher = PredictionBatcher(InFlightRequests(count=in_flight))

        async def late() -> Scored:
            await turns(1)
            return await batcher.predict(linear, "b.com", 0)

        tasks = [
            asyncio.create_task(batcher.predict(linear, "a.com", 0)),
            asyncio.create_task(late()),
        ]
        await turns(20)
        return [task.result() if task.done() else None for task in tasks]

    with spy(linear) as predict:
        results = asyncio.run(second_arrives_a_turn_later())
    assert predict.call_count == calls
    assert [r.prediction.url for r in results] == ["a.com", "b.com"]


def test_a_flush_stops_waiting_for_requests_that_never_arrive(linear: Predictor) -> None:
    async def alone_among_many_in_flight() -> Scored | None:
        batcher = PredictionBatcher(InFlightRequests(count=5))
        task = asyncio.create_task(batcher.predict(linear, "a.com", 0))
        await turns(4 * MAX_WAIT_TURNS)
        return task.result() if task.done() else None

    result = asyncio.run(alone_among_many_in_flight())
    assert result is not None
    assert result.prediction.url == "a.com"
