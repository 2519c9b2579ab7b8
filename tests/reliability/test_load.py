"""The load generator against the real app: it records every answer, error and refusal, and
an open loop keeps its rate. (What the other reliability tests' zero-error checks rely on.)"""

import asyncio

import pytest

from phishline.bench_e2e.load import Load, Request
from phishline.bench_e2e.measure import summarize
from phishline.bench_e2e.stack import Stack

from ..conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
PREDICT = "/api/predict"


def test_every_answer_error_and_refusal_is_recorded(stack: Stack) -> None:
    requests = [
        Request(PREDICT, {"url": "http://paypal.com.secure-login.example.ru/webscr"}),
        Request(PREDICT, {"url": "   "}),
        Request(PREDICT, {"url": "http://example.com/", "model": "no-such-model"}),
        Request("/api/nowhere", {}),
    ]
    load = Load(stack.app.url, lambda i: requests[i] if i < len(requests) else None)
    outcomes = sorted(asyncio.run(load.run(concurrency=2)), key=lambda o: o.index)
    assert [(o.status, o.code) for o in outcomes] == [
        (200, ""), (422, "invalid_url"), (422, "unknown_model"), (404, "not_found"),
    ]  # fmt: skip
    assert all(o.message for o in outcomes[1:])
    assert all(o.written is not None and o.sent <= o.written <= o.answered for o in outcomes)
    summary = summarize(outcomes, load.finished - load.started)
    assert summary["requests"] == 4
    assert summary["errors"] == 3
    assert summary["error_codes"] == {"invalid_url": 1, "unknown_model": 1, "not_found": 1}

    nobody = Load(f"http://127.0.0.1:{free_port()}", lambda i: requests[0] if i < 2 else None)
    refused = asyncio.run(nobody.run(concurrency=1))
    assert [(o.status, o.code, o.written) for o in refused] == [(None, "ConnectError", None)] * 2


def test_open_loop_keeps_its_rate(stack: Stack) -> None:
    body = Request(PREDICT, {"url": "http://example.com/"})
    load = Load(stack.app.url, lambda _: body)
    outcomes = asyncio.run(load.run(concurrency=8, seconds=1.0, rate=20))
    assert 15 <= len(outcomes) <= 21  # fewer only when this process is starved of CPU
    assert all(o.ok for o in outcomes)
    planned = sorted(o.sent - load.started for o in outcomes)
    assert planned == pytest.approx([i / 20 for i in range(len(outcomes))], abs=1e-6)
