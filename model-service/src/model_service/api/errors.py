"""Every error leaves as `{"error": {"code", "message"}}`, bad input always with a 4xx."""

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from model_service.api.deps import service_state
from model_service.api.schemas import ErrorDetail, ErrorResponse
from model_service.core.errors import ErrorCode, ServiceError, clipped

logger = logging.getLogger(__name__)

# How OpenAPI describes each error status the routes can answer.
ERROR_DESCRIPTIONS = {
    400: "Malformed JSON.",
    401: "The admin token is missing or wrong (`unauthorized`).",
    403: "The admin routes are off: no admin token is configured (`admin_disabled`).",
    413: "The body or the batch is too large.",
    415: "The body is not JSON.",
    422: "Invalid input: a missing, empty, non-string, unreadable or too long URL, a link that is not a web address (`javascript:`, `mailto:`, ...) or whose host no domain can have (a space, `%`, ...), an unknown model, a field of the wrong JSON type (a string or `true` for a number) or out of range, or an empty body.",
    500: "The reload failed; the previous models, if any, stay loaded.",
    503: "No model is loaded yet (`not_ready`), or the service shut down before the request finished (`shutting_down`).",
}
_CODE_OF_HTTP_STATUS = {
    400: ErrorCode.MALFORMED_JSON,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.BODY_TOO_LARGE,
}
_MAX_REPORTED_PROBLEMS = 3
CLIENT_CLOSED_REQUEST = 499


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: these statuses answer with an ErrorResponse."""
    return {
        status: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


def error_response(
    status: int, code: ErrorCode, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse(error=ErrorDetail(code=code, message=message))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _refuse(
    request: Request,
    status: int,
    code: ErrorCode,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    service_state(request.app).metrics.count_error(code)
    logger.info("request refused: %s", message, extra={"code": code.value, "status": status})
    return error_response(status, code, message, headers)


async def on_service_error(request: Request, exc: ServiceError) -> JSONResponse:
    return _refuse(request, exc.status_code, exc.code, exc.message, exc.headers)


async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = exc.errors()
    if any(problem["type"] == "json_invalid" for problem in problems):
        detail = problems[0].get("ctx", {}).get("error", "invalid JSON")
        return _refuse(
            request, 400, ErrorCode.MALFORMED_JSON, f"the body is not valid JSON: {detail}"
        )
    if problems[0]["type"] == "missing" and tuple(problems[0]["loc"]) == ("body",):
        # FastAPI's own words for an empty body are "body: Field required".
        return _refuse(request, 422, ErrorCode.VALIDATION, "the body is empty; send a JSON object")
    described = "; ".join(
        f"{'.'.join(clipped(str(part)) for part in problem['loc'])}: {problem['msg']}"
        for problem in problems[:_MAX_REPORTED_PROBLEMS]
    )
    more = len(problems) - _MAX_REPORTED_PROBLEMS
    if more > 0:
        described += f" (and {more} more)"
    return _refuse(request, 422, ErrorCode.VALIDATION, described)


async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Routing errors (404, 405 with its Allow header) and the body parser's own 400."""
    code = _CODE_OF_HTTP_STATUS.get(exc.status_code, ErrorCode.HTTP_ERROR)
    message = str(exc.detail)
    cause = exc.__cause__
    if isinstance(cause, ClientDisconnect):
        # The client hung up while sending the body: no malformed JSON, so not counted as
        # one, and nobody reads this answer. 499 is how nginx logs a closed request.
        return error_response(
            CLIENT_CLOSED_REQUEST, ErrorCode.HTTP_ERROR, "the client closed the connection"
        )
    # The parser's own message ("There was an error parsing the body") names no reason.
    if isinstance(cause, UnicodeDecodeError):
        message = (
            f"the body is not valid JSON: JSON must be UTF-8, and byte "
            f"{cause.object[cause.start]:#04x} at offset {cause.start} is not"
        )
    elif isinstance(cause, RecursionError):
        message = "the body is not readable JSON: its arrays or objects nest too deeply"
    return _refuse(request, exc.status_code, code, message, exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.exception_handler(ServiceError)(on_service_error)
    app.exception_handler(RequestValidationError)(on_validation_error)
    app.exception_handler(HTTPException)(on_http_error)
