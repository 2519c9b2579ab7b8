"""Every error leaves the app as `{"error": {"code", "message"}}` with a 4xx/5xx status,
except to a browser asking for a page (outside the JSON API): it gets the error page."""

import asyncio
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phishline_app.api.deps import AppContext, get_context
from phishline_app.core.security import SECURITY_HEADERS, wants_page
from phishline_app.core.tracing import current_request_id
from phishline_app.db.store import StoreUnavailableError
from phishline_app.services.model_client import (
    ModelServiceRejectedError,
    ModelServiceUnavailableError,
)

logger = logging.getLogger(__name__)

# Codes for the statuses the framework itself raises (unknown path, wrong method, ...).
STATUS_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation",
}
# A browser's error page: its title, and what happened, in the user's terms.
PAGES = {
    404: ("Page not found", "There is no page at this address."),
    405: ("Page not found", "This address takes a form sent from the check page, not a visit."),
    413: ("Too long to check", "The form sent more than {detail}."),
    500: ("Something went wrong", "An error stopped this page; the logs name it by {detail}."),
}
# How long clients should wait before retrying while a dependency is unavailable.
RETRY_AFTER_SECONDS = "5"


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


def documented_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: these statuses answer with an ErrorBody."""
    return {
        status: {"model": ErrorBody, "description": HTTPStatus(status).phrase}
        for status in statuses
    }


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def error_page(
    context: AppContext, status: int, detail: str, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    """The error page of `status`, with a link back to the check; `detail` completes the
    message of PAGES, or is the message of a status without one."""
    title, message = PAGES.get(status, (HTTPStatus(status).phrase, "{detail}"))
    html = context.templates.get_template("error.html").render(
        variant=context.settings.variant,
        app_version=context.app_version,
        lib_version=context.lib_version,
        title=title,
        message=message.format(detail=detail),
    )
    return HTMLResponse(html, status_code=status, headers=headers)


class ShutdownCutoffMiddleware:
    """A 503 `shutting_down` for a request still running when SIGTERM's grace period ends:
    uvicorn cancels it and would answer a plain-text 500, logging a traceback. Nothing awaits
    the request after that, so answering here ends it cleanly."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_response = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except asyncio.CancelledError:
            if started_response:
                raise
            logger.warning("request cut off by the shutdown")
            message = "the app is shutting down and did not finish this request; send it again"
            request = Request(scope)
            response: Response = (
                error_page(get_context(request), 503, message)
                if wants_page(request.headers, request.url.path)
                else error_response(503, "shutting_down", message)
            )
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(
        request: Request, exc: StarletteHTTPException
    ) -> JSONResponse | HTMLResponse:
        # The JSON body parser's own 400 ("There was an error parsing the body") names no
        # reason; these are its two besides invalid JSON.
        if isinstance(exc.__cause__, UnicodeDecodeError):
            return error_response(400, "malformed_json", "the request body is not UTF-8 JSON")
        if isinstance(exc.__cause__, RecursionError):
            return error_response(400, "malformed_json", "the request body's JSON nests too deeply")
        code = STATUS_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else ""
        message = detail or HTTPStatus(exc.status_code).phrase
        if wants_page(request.headers, request.url.path):
            return error_page(get_context(request), exc.status_code, message, headers=exc.headers)
        return error_response(exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(error.get("type") == "json_invalid" for error in errors):
            return error_response(400, "malformed_json", "the request body is not valid JSON")
        first = errors[0]
        if first.get("type") == "missing" and tuple(first.get("loc", ())) == ("body",):
            return error_response(422, "validation", "the request body is empty")
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error_response(422, "validation", f"{where}: {first.get('msg', 'invalid input')}")

    @app.exception_handler(ModelServiceUnavailableError)
    async def unavailable(_request: Request, exc: ModelServiceUnavailableError) -> JSONResponse:
        logger.warning("model-service call failed: %s", exc)
        return error_response(
            503,
            "model_service_unavailable",
            f"model-service is unavailable ({exc.reason}); try again shortly",
            headers={"retry-after": RETRY_AFTER_SECONDS},
        )

    @app.exception_handler(ModelServiceRejectedError)
    async def rejected(_request: Request, exc: ModelServiceRejectedError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(StoreUnavailableError)
    async def store_unavailable(_request: Request, exc: StoreUnavailableError) -> JSONResponse:
        logger.error("feedback store failed: %s", exc)
        return error_response(
            503,
            "store_unavailable",
            "the feedback store is unavailable; the answer was not recorded",
            headers={"retry-after": RETRY_AFTER_SECONDS},
        )

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse | HTMLResponse:
        # Starlette answers this from its outermost middleware, outside the ones that name the
        # request and add the security headers: both are repeated here.
        request_id = current_request_id()
        logger.error("unhandled error", exc_info=exc)
        headers = {**SECURITY_HEADERS, "cache-control": "no-store", "x-request-id": request_id}
        if wants_page(request.headers, request.url.path):
            return error_page(
                get_context(request), 500, f"the request id {request_id}", headers=headers
            )
        return error_response(
            500,
            "internal",
            f"internal error; the logs name it by the request id {request_id}",
            headers=headers,
        )
