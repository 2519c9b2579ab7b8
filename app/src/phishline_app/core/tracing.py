"""One request, one id, across the app and model-service.

The app forwards to model-service the request id and trace context it was called with (from
Istio's sidecar, a load balancer or a client), as Istio asks of every application so that its
access logs and traces join the two hops; a call without an id gets a new one. The id is
echoed to the caller and written in the app's log lines, and model-service logs it too.
"""

import logging
import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# W3C Trace Context and Zipkin B3, the formats Istio's proxies propagate.
TRACE_CONTEXT_HEADERS = frozenset({
    "traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid",
    "x-b3-sampled", "x-b3-flags",
})  # fmt: skip
# Echoed into logs and headers: only plain tokens of a sane length are taken from callers.
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Trace context is forwarded as it came, when it is printable ASCII of a sane length.
_TRACE_VALUE = re.compile(r"[\x20-\x7e]{1,512}")
_ACCEPTED_VALUES = {REQUEST_ID_HEADER: _PLAIN_TOKEN} | dict.fromkeys(
    TRACE_CONTEXT_HEADERS, _TRACE_VALUE
)
_FORWARDED: ContextVar[dict[str, str] | None] = ContextVar("forwarded_headers", default=None)
NO_REQUEST = "-"


def forwarded_headers() -> dict[str, str]:
    """The headers to send with a call made while serving the current request."""
    return dict(_FORWARDED.get() or {})


def current_request_id() -> str:
    """The id of the request being served, or `-` outside one."""
    return (_FORWARDED.get() or {}).get(REQUEST_ID_HEADER, NO_REQUEST)


class RequestIdLogFilter(logging.Filter):
    """Gives every log record the id of the request being served (`-` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


def _take_trace_context(scope: Scope) -> str:
    """Keep what a request says of its id and trace, for the calls made while serving it,
    and return its id (a new one when it brings none)."""
    forwarded: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        accepted = _ACCEPTED_VALUES.get(name)
        if accepted and accepted.fullmatch(value):
            forwarded[name] = value
    request_id = forwarded.setdefault(REQUEST_ID_HEADER, uuid.uuid4().hex)
    # Not reset afterwards: uvicorn serves each request in a task of its own, whose context
    # ends with it, and the id then also reaches the log line of an error that escapes to the
    # server-error handler, outside the middleware.
    _FORWARDED.set(forwarded)
    return request_id


class RequestTracingMiddleware:
    """Reads the request id and trace context of each HTTP request, for the calls it makes
    and its log lines, and answers with the request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = (REQUEST_ID_HEADER.encode(), _take_trace_context(scope).encode())
            answer = send

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), header]
                await answer(message)

            send = send_with_id
        await self.app(scope, receive, send)
