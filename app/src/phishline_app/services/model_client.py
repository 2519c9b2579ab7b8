"""HTTP client of model-service: timeouts, one retry on connection errors, typed failures.

Every failure becomes one of two exceptions, so callers never see httpx errors:
`ModelServiceUnavailableError` (down, slow or answering nonsense: try again later) and
`ModelServiceRejectedError` (the service refused this input: show its reason to the user).
A client holds no state that a failure can poison, so the app recovers by itself as soon as
model-service answers again.
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phishline_app.core.metrics import AppMetrics
from phishline_app.core.tracing import forwarded_headers

FailureReason = Literal["unavailable", "timeout", "bad_response"]
# Errors after which a second attempt may succeed: a refused connection (a restart in
# progress) or a pooled keep-alive connection that the service closed when it restarted.
RETRYABLE_ERRORS = (httpx.NetworkError, httpx.RemoteProtocolError)
# The service version rarely changes; asking for it on every page would double the calls.
SERVICE_VERSION_TTL_SECONDS = 60.0
# The readiness report must come back well within a probe's timeout (1-2 s) even when
# model-service hangs, since the app's readiness does not depend on it.
READY_CHECK_TIMEOUT_SECONDS = 0.5
UNKNOWN = "unknown"

Schema = TypeVar("Schema", bound=BaseModel)


class ModelServiceUnavailableError(Exception):
    """model-service cannot answer now (down, too slow, or an unusable answer)."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(f"model-service {reason}: {detail}")
        self.reason: FailureReason = reason


class ModelServiceRejectedError(Exception):
    """model-service refused the request itself, e.g. an invalid URL or an unknown model."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _Tolerant(BaseModel):
    # Newer model-service versions may add fields; only the ones read here matter.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Contribution(_Tolerant):
    feature: str
    kind: str
    weight: float
    description: str = ""  # the feature in words; model-services before 2026-12 send none


class Prediction(_Tolerant):
    url: str
    label: Literal["phishing", "legitimate"]
    probability: float = Field(ge=0.0, le=1.0)
    model: str
    model_version: str
    explanation: tuple[Contribution, ...] = ()


class ModelInfo(_Tolerant):
    name: str
    version: str = UNKNOWN
    default: bool = False
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)  # P(phishing) it flags from


class _ModelList(_Tolerant):
    models: tuple[ModelInfo, ...]
    default: str | None = None
    service_version: str | None = None


class _ServiceError(_Tolerant):
    code: str
    message: str


class _ErrorBody(_Tolerant):
    error: _ServiceError


class _OpenApiInfo(_Tolerant):
    version: str


class _OpenApi(_Tolerant):
    info: _OpenApiInfo


@dataclass(frozen=True)
class ModelCatalog:
    """The models model-service serves, its default one, and the service's own version."""

    models: tuple[ModelInfo, ...]
    default: str | None
    service_version: str

    def find(self, name: str | None) -> ModelInfo | None:
        wanted = name or self.default
        return next((model for model in self.models if model.name == wanted), None)


class ModelClient:
    """Calls model-service; one instance per app, shared by all requests."""

    def __init__(
        self,
        base_url: str,
        timeout_seconds: float,
        metrics: AppMetrics,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # Connecting to a local service is instant when it is up; fail fast when it is not.
        timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 2.0))
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self._metrics = metrics
        self._service_version: tuple[str, float] | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def predict(self, url: str, model: str | None) -> Prediction:
        response = await self._call("POST", "/v1/predict", {"url": url, "model": model})
        return self._parse(Prediction, response)

    async def catalog(self) -> ModelCatalog:
        listing = self._parse(_ModelList, await self._call("GET", "/v1/models"))
        version = listing.service_version or await self._openapi_version()
        return ModelCatalog(listing.models, listing.default, version)

    async def ready(self) -> bool:
        """Whether model-service says it is ready (for the app's own readiness report)."""
        try:
            await self._call("GET", "/health/ready", timeout=READY_CHECK_TIMEOUT_SECONDS)
        except (ModelServiceUnavailableError, ModelServiceRejectedError):
            return False
        return True

    async def _openapi_version(self) -> str:
        """The version in the service's OpenAPI document, cached; `unknown` when unreadable."""
        now = time.monotonic()
        if self._service_version and now - self._service_version[1] < SERVICE_VERSION_TTL_SECONDS:
            return self._service_version[0]
        try:
            document = self._parse(_OpenApi, await self._call("GET", "/openapi.json"))
        except (ModelServiceUnavailableError, ModelServiceRejectedError):
            return UNKNOWN
        self._service_version = (document.info.version, now)
        return document.info.version

    async def _call(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> httpx.Response:
        """`timeout` (seconds) replaces the client's for this call."""
        started = time.perf_counter()
        try:
            response = await self._send_with_one_retry(method, path, body, timeout)
        except ModelServiceUnavailableError as failure:
            self._metrics.model_service_failed(failure.reason)
            raise
        finally:
            self._metrics.model_service_called(time.perf_counter() - started)
        if response.is_success:
            return response
        if response.status_code >= 500 or response.status_code == 429:
            self._metrics.model_service_failed("unavailable")
            raise ModelServiceUnavailableError("unavailable", f"HTTP {response.status_code}")
        if response.status_code < 400:
            # A redirect (the client follows none) is a misplaced base URL or a proxy's doing,
            # not a refusal of the user's input: passed on, it would be the app's own status.
            self._metrics.model_service_failed("bad_response")
            raise ModelServiceUnavailableError("bad_response", f"HTTP {response.status_code}")
        raise self._rejection(response)

    async def _send_with_one_retry(
        self, method: str, path: str, body: Any, timeout: float | None
    ) -> httpx.Response:
        """Both attempts within one deadline: httpx's timeouts bound each read, so an answer
        that trickles in a byte at a time would otherwise never time out."""
        headers = forwarded_headers()  # one request id and trace across both services
        options: dict[str, Any] = {"json": body, "headers": headers}
        if timeout is not None:
            options["timeout"] = httpx.Timeout(timeout)
        deadline = self._http.timeout.read if timeout is None else timeout
        try:
            async with asyncio.timeout(deadline):
                try:
                    return await self._http.request(method, path, **options)
                except RETRYABLE_ERRORS:
                    return await self._http.request(method, path, **options)
        except (httpx.TimeoutException, TimeoutError) as exc:
            detail = str(exc) or f"no whole answer within {deadline:g} s"
            raise ModelServiceUnavailableError("timeout", detail) from exc
        except httpx.DecodingError as exc:  # e.g. a body that is not in its stated encoding
            raise ModelServiceUnavailableError("bad_response", str(exc)) from exc
        except httpx.TransportError as exc:
            raise ModelServiceUnavailableError(
                "unavailable", str(exc) or type(exc).__name__
            ) from exc

    def _parse(self, schema: type[Schema], response: httpx.Response) -> Schema:
        try:
            return schema.model_validate_json(response.content)
        except ValidationError as exc:
            self._metrics.model_service_failed("bad_response")
            raise ModelServiceUnavailableError(
                "bad_response", f"{response.request.url.path}: {exc.error_count()} invalid fields"
            ) from exc

    @staticmethod
    def _rejection(response: httpx.Response) -> ModelServiceRejectedError:
        try:
            error = _ErrorBody.model_validate_json(response.content).error
        except ValidationError:
            return ModelServiceRejectedError(
                response.status_code,
                "rejected",
                f"model-service answered HTTP {response.status_code}",
            )
        return ModelServiceRejectedError(response.status_code, error.code, error.message)
