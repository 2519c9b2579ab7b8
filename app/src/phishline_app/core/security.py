"""Security headers on every answer and a hard limit on request body size."""

import json
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No script runs on the page at all; styles and images come from the app itself only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # The checked URLs may be private; never leak them to another site.
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
STATIC_PREFIX = "/static/"
API_PREFIX = "/api/"


def wants_page(headers: Headers, path: str) -> bool:
    """A browser asking for a page, which gets an error as a page too; the JSON API and
    other clients get JSON errors."""
    return not path.startswith(API_PREFIX) and "text/html" in headers.get("accept", "")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not cacheable:
                    # Pages and API answers carry the user's URLs: keep them out of caches.
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _reject_too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {"error": {"code": "body_too_large", "message": f"request body over {limit} bytes"}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_within_limit(receive: Receive, limit: int) -> list[Message] | None:
    """The whole body as its ASGI messages, or None as soon as it grows over the limit."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return messages


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit: by Content-Length up front, else by reading them first.

    The server already holds a body to its declared Content-Length; only streamed (chunked)
    bodies need counting, and they are small enough here to buffer.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, page: Callable[[], Response]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.page = page  # the refusal a browser's form post gets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send, headers)
                return
            await self.app(scope, receive, send)
            return
        buffered = await _read_within_limit(receive, self.max_bytes)
        if buffered is None:
            await self._refuse(scope, receive, send, headers)
            return

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        if not wants_page(headers, scope["path"]):
            await _reject_too_large(send, self.max_bytes)
            return
        page = self.page()
        # As with the JSON refusal: the body left unread ends the connection.
        page.headers["connection"] = "close"
        await page(scope, receive, send)
