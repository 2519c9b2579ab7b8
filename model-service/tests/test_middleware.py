"""The middleware on its own, for what the routes never produce or cannot show."""

import asyncio
from typing import Any

import pytest
from starlette.types import Message

from model_service.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from model_service.core.errors import ErrorCode, ServiceError
from model_service.core.metrics import ServiceMetrics


def http_scope() -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/stream", "headers": []}


async def _no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_an_error_after_the_response_started_is_not_masked() -> None:
    """The status line is gone already: the error must reach the server, which drops the
    connection, instead of a second response being sent."""

    async def fails_midway(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("midway")

    metrics = ServiceMetrics()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with pytest.raises(RuntimeError, match="midway"):
        asyncio.run(RequestContextMiddleware(fails_midway, metrics)(http_scope(), _no_body, send))
    assert [message["type"] for message in sent] == ["http.response.start"]
    assert sent[0]["headers"][0][0] == b"x-request-id"
    assert metrics.registry.get_sample_value("phishline_model_in_flight_requests") == 0
    assert (
        metrics.registry.get_sample_value(
            "phishline_model_http_requests_total",
            {"method": "GET", "route": "unmatched", "status": "200"},
        )
        == 1
    )


def test_a_request_the_shutdown_cuts_off_is_a_json_503_counted_by_its_reason() -> None:
    """uvicorn cancels what is still running when SIGTERM's grace period ends: the client gets
    the documented 503, and the errors by reason count it like every other refusal."""

    async def stalls(scope: Any, receive: Any, send: Any) -> None:
        raise asyncio.CancelledError

    metrics = ServiceMetrics()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(RequestContextMiddleware(stalls, metrics)(http_scope(), _no_body, send))
    assert sent[0]["status"] == 503
    assert b'"shutting_down"' in sent[1]["body"]
    errors = metrics.registry.get_sample_value(
        "phishline_model_errors_total", {"reason": "shutting_down"}
    )
    assert errors == 1


def test_a_declared_body_over_the_limit_is_refused_before_any_of_it_is_read() -> None:
    """Content-Length is checked first: a client announcing a huge body gets its 413 without
    the server reading a byte of it (the bytes received are counted only for bodies that do
    not declare their length)."""
    reads: list[Message] = []

    async def reads_the_body(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    async def small_chunk() -> Message:
        message: Message = {"type": "http.request", "body": b"{}", "more_body": True}
        reads.append(message)
        return message

    async def send(message: Message) -> None:
        raise AssertionError("the middleware itself answers nothing")

    scope = {**http_scope(), "method": "POST", "headers": [(b"content-length", b"101")]}
    limited = BodySizeLimitMiddleware(reads_the_body, max_body_bytes=100)
    with pytest.raises(ServiceError) as refused:
        asyncio.run(limited(scope, small_chunk, send))
    assert refused.value.status_code == 413
    assert refused.value.code is ErrorCode.BODY_TOO_LARGE
    assert reads == []


def test_a_declared_body_at_the_limit_is_read() -> None:
    received: list[bytes] = []

    async def reads_the_body(scope: Any, receive: Any, send: Any) -> None:
        received.append((await receive())["body"])

    async def whole_body() -> Message:
        return {"type": "http.request", "body": b"x" * 100, "more_body": False}

    async def send(message: Message) -> None:
        raise AssertionError("the middleware itself answers nothing")

    scope = {**http_scope(), "method": "POST", "headers": [(b"content-length", b"100")]}
    asyncio.run(
        BodySizeLimitMiddleware(reads_the_body, max_body_bytes=100)(scope, whole_body, send)
    )
    assert received == [b"x" * 100]
