"""Micro-batching: single-URL requests that arrive together are scored in one predictor call.

lib-ml scores a batch for little more than the cost of one URL (the per-call overhead
dominates a single URL), so under concurrent load this multiplies single-predict throughput,
while a lone request is scored at once. There is no timer: the flush runs on the next turn
of the event loop, unless other requests are in flight and may still be on their way here
(reading or validating their bodies); then it waits for them, a few turns at most
(docs/performance.md has figures).
"""

import asyncio
import time
from dataclasses import dataclass, field
from typing import cast

from lib_ml import BatchInputError, Prediction, Predictor
from model_service.core.metrics import InFlightRequests

# Caps the time one flush holds the event loop and what one invalid URL costs its batch.
MAX_COALESCED = 64
# Explanations cost lib-ml several times a bare prediction per URL: explained batches stay
# smaller, so that one flush holds the loop for a few milliseconds at most.
MAX_COALESCED_EXPLAINED = 16
# Event-loop turns a flush may wait for in-flight requests to join: a request takes about
# two turns from its first bytes to the batcher, and requests that are only sending their
# answers leave within a turn or two.
MAX_WAIT_TURNS = 3


@dataclass(frozen=True, slots=True)
class Scored:
    prediction: Prediction
    seconds: float  # time inside the predictor call that scored it


@dataclass
class _Pending:
    predictor: Predictor
    explain_top_k: int
    urls: list[str] = field(default_factory=list)
    futures: list[asyncio.Future[Scored]] = field(default_factory=list)


class PredictionBatcher:
    def __init__(self, in_flight: InFlightRequests | None = None) -> None:
        self._pending: dict[tuple[int, int], _Pending] = {}
        self._in_flight = in_flight or InFlightRequests()

    async def predict(self, predictor: Predictor, url: str, explain_top_k: int) -> Scored:
        """Score one URL together with whatever else is waiting for the same model and
        explanation size; raises the BatchInputError of this URL only."""
        loop = asyncio.get_running_loop()
        # The pending entry holds the predictor, so its id cannot be reused while it waits.
        key = (id(predictor), explain_top_k)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(predictor, explain_top_k)
            loop.call_soon(self._flush_when_settled, key, MAX_WAIT_TURNS)
        future: asyncio.Future[Scored] = loop.create_future()
        pending.urls.append(url)
        pending.futures.append(future)
        if len(pending.urls) >= (MAX_COALESCED_EXPLAINED if explain_top_k else MAX_COALESCED):
            self._flush(key)
        return await future

    def _flush_when_settled(self, key: tuple[int, int], turns_left: int) -> None:
        waiting = sum(len(pending.urls) for pending in self._pending.values())
        if turns_left and self._in_flight.count > waiting:
            asyncio.get_running_loop().call_soon(self._flush_when_settled, key, turns_left - 1)
        else:
            self._flush(key)

    def _flush(self, key: tuple[int, int]) -> None:
        pending = self._pending.pop(key, None)
        if pending is None:  # already flushed because it was full
            return
        started = time.perf_counter()
        try:
            outcomes = predict_each(pending.predictor, pending.urls, pending.explain_top_k)
        except Exception as exc:  # noqa: BLE001  # pylint: disable=broad-exception-caught  # every waiter gets the error
            for future in pending.futures:
                if not future.done():
                    future.set_exception(exc)
            return
        seconds = time.perf_counter() - started
        for future, outcome in zip(pending.futures, outcomes, strict=True):
            if future.done():  # the client went away and its request was cancelled
                continue
            if isinstance(outcome, BatchInputError):
                future.set_exception(outcome)
            else:
                future.set_result(Scored(outcome, seconds))


def predict_each(
    predictor: Predictor, urls: list[str], explain_top_k: int
) -> list[Prediction | BatchInputError]:
    """Predictions in order, where each invalid URL gets its own error instead of failing
    the others (lib-ml stops at the first invalid item, which is dropped and the rest retried)."""
    outcomes: list[Prediction | BatchInputError | None] = [None] * len(urls)
    remaining = list(range(len(urls)))
    while remaining:
        try:
            predictions = predictor.predict([urls[i] for i in remaining], explain_top_k)
        except BatchInputError as exc:
            outcomes[remaining.pop(exc.index)] = exc
            continue
        for index, prediction in zip(remaining, predictions, strict=True):
            outcomes[index] = prediction
        break
    return cast(list[Prediction | BatchInputError], outcomes)  # every slot is filled now
