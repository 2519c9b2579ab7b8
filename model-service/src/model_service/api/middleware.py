"""Pure ASGI middleware (cheaper per request than Starlette's BaseHTTPMiddleware)."""

import asyncio
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from model_service.api.errors import error_response
from model_service.core.errors import ErrorCode, ServiceError
from model_service.core.logging import REQUEST_ID, request_id_from
from model_service.core.metrics import ServiceMetrics

access_logger = logging.getLogger("model_service.access")
logger = logging.getLogger(__name__)

# Methods outside this set share one label value, so odd clients cannot grow the series count.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"


class RequestContextMiddleware:
    """Request id (X-Request-ID honoured and echoed), in-flight gauge, request counter and
    latency, one access log line per request, a JSON 500 for any unexpected error and a JSON
    503 for a request the shutdown cut off."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(_header(scope, b"x-request-id"))
        token = REQUEST_ID.set(request_id)
        status = 500
        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        self.metrics.requests_in_flight.count += 1
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:  # pylint: disable=broad-exception-caught  # any bug becomes a JSON 500
            if started_response:
                raise
            logger.exception("unexpected error")
            self.metrics.count_error(ErrorCode.INTERNAL)
            response = error_response(
                500, ErrorCode.INTERNAL, "internal error; the logs name it by the request id"
            )
            await response(scope, receive, send_with_id)
        except asyncio.CancelledError:
            # uvicorn cancels the requests still running when SIGTERM's grace period ends and
            # would answer them with a plain-text 500; nothing awaits them after that, so
            # answering here ends them cleanly.
            if started_response:
                raise
            logger.warning("request cut off by the shutdown")
            self.metrics.count_error(ErrorCode.SHUTTING_DOWN)
            response = error_response(
                503,
                ErrorCode.SHUTTING_DOWN,
                "the service is shutting down and did not finish this request; send it again",
            )
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.requests_in_flight.count -= 1
            self._observe(scope, status, elapsed)
            REQUEST_ID.reset(token)

    def _observe(self, scope: Scope, status: int, elapsed: float) -> None:
        route_path = route_label(scope)
        method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
        self.metrics.http_requests.labels(method, route_path, str(status)).inc()
        self.metrics.request_seconds.labels(route_path).observe(elapsed)
        if access_logger.isEnabledFor(logging.INFO):
            access_logger.info(
                "%s %s %d", method, scope["path"], status,
                extra={"route": route_path, "status": status, "duration_ms": round(elapsed * 1e3, 3)},
            )  # fmt: skip


def route_label(scope: Scope) -> str:
    """The matched route's template (`/v1/predict`), never the raw path."""
    template = getattr(scope.get("route") or _starlette_route(scope), "path_format", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


def _starlette_route(scope: Scope) -> object:
    """FastAPI's routes name themselves in the scope; Starlette's (the OpenAPI schema and
    its docs page) leave only their endpoint, so the router's routes are searched."""
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return None
    for route in getattr(scope.get("router"), "routes", ()):
        if endpoint in (getattr(route, "endpoint", None), getattr(route, "app", None)):
            return route
    return None


class BodySizeLimitMiddleware:
    """413 for bodies over the limit, checked against Content-Length before anything is read
    and against the bytes actually received (chunked bodies have no Content-Length)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = _header(scope, b"content-length")
        received = 0

        def too_large() -> ServiceError:
            return ServiceError(
                413, ErrorCode.BODY_TOO_LARGE, f"the body is larger than {limit} bytes"
            )

        async def receive_within_limit() -> Message:
            nonlocal received
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise too_large()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large()
            return message

        await self.app(scope, receive_within_limit, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
