"""Errors the service answers with, and the reasons the error counter is labelled by."""

from collections.abc import Mapping
from enum import StrEnum

from starlette.exceptions import HTTPException


class ErrorCode(StrEnum):
    """The `error.code` of a JSON error response."""

    INVALID_URL = "invalid_url"
    URL_TOO_LONG = "url_too_long"
    UNKNOWN_MODEL = "unknown_model"
    BATCH_TOO_LARGE = "batch_too_large"
    MALFORMED_JSON = "malformed_json"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    BODY_TOO_LARGE = "body_too_large"
    VALIDATION = "validation"
    NOT_READY = "not_ready"
    INTERNAL = "internal"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    RELOAD_FAILED = "reload_failed"
    ADMIN_DISABLED = "admin_disabled"
    UNAUTHORIZED = "unauthorized"
    SHUTTING_DOWN = "shutting_down"
    HTTP_ERROR = "http_error"


# The `reason` values of phishline_model_errors_total (docs/metrics.md); the other codes are
# routing or operator outcomes, visible in phishline_model_http_requests_total by status.
COUNTED_REASONS: tuple[ErrorCode, ...] = (
    ErrorCode.INVALID_URL,
    ErrorCode.URL_TOO_LONG,
    ErrorCode.UNKNOWN_MODEL,
    ErrorCode.BATCH_TOO_LARGE,
    ErrorCode.MALFORMED_JSON,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    ErrorCode.BODY_TOO_LARGE,
    ErrorCode.VALIDATION,
    ErrorCode.NOT_READY,
    ErrorCode.INTERNAL,
    ErrorCode.SHUTTING_DOWN,
)


def clipped(text: str, limit: int = 64) -> str:
    """Client input quoted in an error message and its log line, at most `limit` characters:
    a name of megabytes would otherwise come back whole, and be logged whole."""
    return text if len(text) <= limit else f"{text[:limit]}…"


class ServiceError(HTTPException):
    """A request the service refuses, answered as `{"error": {"code", "message"}}`.

    It is an HTTPException so that errors raised while FastAPI reads the body (the size
    limit) reach the exception handlers unchanged instead of becoming a generic 400.
    """

    def __init__(
        self,
        status_code: int,
        code: ErrorCode,
        message: str,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code
        self.message = message


class ModelLoadError(Exception):
    """The configured models cannot be loaded (missing, invalid, tampered or unreachable)."""
