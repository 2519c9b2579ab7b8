"""The request middleware on its own, for failures the routes never produce."""

import asyncio
from typing import Any

import pytest

from model_service.api.middleware import RequestContextMiddleware
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
