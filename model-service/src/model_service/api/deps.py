"""What routes depend on, as `Annotated` aliases over one state object per app.

Each dependency costs FastAPI several microseconds per request, a sizeable share of a single
prediction: the predict routes read the state from the request instead and check their
content type in their route class. The aliases are `async def` because FastAPI runs plain
`def` dependencies in a thread pool, which would cost more than the lookups themselves.
"""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute

from model_service.core.batching import PredictionBatcher
from model_service.core.config import Settings
from model_service.core.drift import DriftMonitor
from model_service.core.errors import ErrorCode, ServiceError
from model_service.core.metrics import ServiceMetrics
from model_service.core.registry import ModelRegistry, ModelStore


@dataclass(frozen=True)
class ServiceState:
    settings: Settings
    store: ModelStore
    metrics: ServiceMetrics
    drift: DriftMonitor
    batcher: PredictionBatcher


def service_state(app: FastAPI) -> ServiceState:
    return cast(ServiceState, app.state.service)


async def get_service(request: Request) -> ServiceState:
    return service_state(request.app)


async def get_store(request: Request) -> ModelStore:
    return service_state(request.app).store


async def get_registry(request: Request) -> ModelRegistry:
    """One snapshot per request: a concurrent reload never changes it mid-request."""
    return service_state(request.app).store.current


def require_json(request: Request) -> None:
    """415 unless the body is declared as JSON (application/json or a +json type)."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise ServiceError(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"the body must be JSON (Content-Type: application/json), not {media_type or 'untyped'}",
        )


ServiceDep = Annotated[ServiceState, Depends(get_service)]
StoreDep = Annotated[ModelStore, Depends(get_store)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


class JsonRoute(APIRoute):
    """A route whose body must be declared as JSON: the 415 comes before the body is read or
    validated. Checked here rather than as a dependency, which costs FastAPI more per request
    than the check itself."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_json(request: Request) -> Response:
            require_json(request)
            return await handle(request)

        return handle_json
