"""GET /health/live and /health/ready (the probes of an orchestrator)."""

from fastapi import APIRouter

from model_service.api.deps import RegistryDep
from model_service.api.errors import error_responses
from model_service.api.schemas import LiveResponse, ReadyResponse
from model_service.core.errors import ErrorCode, ServiceError

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", summary="The process is up")
async def live() -> LiveResponse:
    """Answers as long as the process serves HTTP; also the benchmark's ceiling endpoint."""
    return LiveResponse(status="alive")


@router.get("/ready", summary="Models are loaded", responses=error_responses(503))
async def ready(registry: RegistryDep) -> ReadyResponse:
    if registry.default is None:
        raise ServiceError(503, ErrorCode.NOT_READY, "no model is loaded yet")
    return ReadyResponse(
        status="ready", models=len(registry.models), default_model=registry.default
    )
