"""GET /health/live and /health/ready (the probes of an orchestrator)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from model_service.api.deps import RegistryDep
from model_service.api.errors import error_response, error_responses
from model_service.api.schemas import LiveResponse, ReadyResponse
from model_service.core.errors import ErrorCode

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", summary="The process is up")
async def live() -> LiveResponse:
    """Answers as long as the process serves HTTP; also the benchmark's ceiling endpoint."""
    return LiveResponse(status="alive")


@router.get(
    "/ready",
    summary="Models are loaded",
    response_model=ReadyResponse,
    responses=error_responses(503),
)
async def ready(registry: RegistryDep) -> ReadyResponse | JSONResponse:
    if registry.default is None:
        # Answered, not raised: a probe is no refused request, so neither the error counter
        # (which Flagger's analysis and the dashboards read) nor the log counts it.
        return error_response(503, ErrorCode.NOT_READY, "no model is loaded yet")
    return ReadyResponse(
        status="ready", models=len(registry.models), default_model=registry.default
    )
