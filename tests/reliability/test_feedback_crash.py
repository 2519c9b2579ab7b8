"""Concurrent feedback writes with the app killed (SIGKILL) mid-run: every acknowledged answer
is in the store, none twice; answers sent again after the restart are stored once."""

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import httpx
import pytest

from model_service.bench import sample_urls
from phishline.bench_e2e.load import BackgroundLoad, Load, Request, RequestSource
from phishline.bench_e2e.stack import Stack
from phishline_app.core.signing import Signer
from phishline_app.services.tickets import PredictionTicket

from .conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
ANSWERS = 150
WRITERS = 16


async def feedback_tokens(app_url: str, count: int) -> list[str]:
    """One prediction through the app per token, as a user's page gets it."""
    slots = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as client:

        async def predict(url: str) -> str:
            async with slots:
                response = await client.post("/api/predict", json={"url": url})
            response.raise_for_status()
            return str(response.json()["feedback_token"])

        return list(await asyncio.gather(*(predict(u) for u in sample_urls(count, seed=2))))


def stored_answers(database: Path) -> dict[str, list[str]]:
    """prediction_id → the answers stored for it, read from the database file itself."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT prediction_id, answer FROM feedback").fetchall()
    answers: dict[str, list[str]] = {}
    for prediction_id, answer in rows:
        answers.setdefault(prediction_id, []).append(answer)
    return answers


def test_acknowledged_feedback_survives_sigkill_and_is_never_doubled(stack: Stack) -> None:
    tokens = asyncio.run(feedback_tokens(stack.app.url, ANSWERS))
    signer = Signer(stack.secret_key)
    ids = [
        PredictionTicket.unseal(signer, token, "v1").prediction_id for token in tokens
    ]  # the app is v1
    answers = ["yes" if index % 3 else "no" for index in range(ANSWERS)]

    def answer(indices: list[int]) -> RequestSource:
        def source(position: int) -> Request | None:
            if position >= len(indices):
                return None
            index = indices[position]
            return Request(
                "/api/feedback", {"feedback_token": tokens[index], "answer": answers[index]}
            )

        return source

    everything = list(range(ANSWERS))
    with BackgroundLoad(stack.app.url, answer(everything), WRITERS) as load:
        wait_for(lambda: sum(o.ok for o in load.outcomes()) >= ANSWERS // 3, 30, "answers")
        cut_off = {everything[position] for position in load.outstanding()}
        stack.app.kill()
    first = load.outcomes()
    acknowledged = {everything[o.index] for o in first if o.status == 201}
    assert cut_off, "the kill interrupted no request"
    assert all(o.status in (201, None) for o in first), Counter((o.status, o.code) for o in first)

    stack.start()  # the app again, on the same database
    stored = stored_answers(stack.database_path)
    assert all(stored.get(ids[i]) == [answers[i]] for i in acknowledged)

    # A client that got no answer sends it again: stored now (201), or already (409).
    unacknowledged = [i for i in everything if i not in acknowledged]
    retry = Load(stack.app.url, answer(unacknowledged))
    again = {unacknowledged[o.index]: o.status for o in asyncio.run(retry.run(WRITERS))}
    print(f"\n{len(acknowledged)} acknowledged before the kill, {len(cut_off)} cut off by it; "
          f"again: {Counter(again.values())}")  # fmt: skip
    assert set(again) == set(unacknowledged)
    assert set(again.values()) <= {201, 409}
    # Only an answer that was in flight at the kill can have been stored unacknowledged.
    assert {i for i, status in again.items() if status == 409} <= cut_off
    stored = stored_answers(stack.database_path)
    assert all(stored.get(ids[i]) == [answers[i]] for i in everything)
