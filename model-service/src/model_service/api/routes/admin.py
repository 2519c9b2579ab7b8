"""POST /admin/reload: the HTTP twin of SIGHUP."""

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from model_service.api.deps import StoreDep
from model_service.api.errors import error_responses
from model_service.api.schemas import ReloadResponse
from model_service.core.errors import ErrorCode, ModelLoadError, ServiceError

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/reload", summary="Reload the models", responses=error_responses(500))
async def reload_models(store: StoreDep) -> ReloadResponse:
    """Load the configured models anew and swap them in atomically; requests in flight finish
    on the old models, and if loading fails the old models stay."""
    try:
        # Reading and hashing artifacts takes long enough to stall every other request.
        registry = await run_in_threadpool(store.reload)
    except ModelLoadError as exc:
        kept = "the previous models stay" if store.current.models else "still no model is loaded"
        raise ServiceError(500, ErrorCode.RELOAD_FAILED, f"reload failed, {kept}: {exc}") from exc
    return ReloadResponse(models=sorted(registry.models), default_model=registry.default)
