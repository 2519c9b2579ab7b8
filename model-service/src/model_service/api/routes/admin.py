"""POST /admin/reload: the HTTP twin of SIGHUP, behind the admin token."""

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from model_service.api.deps import ServiceDep, StoreDep
from model_service.api.errors import error_responses
from model_service.api.schemas import ReloadResponse
from model_service.core.errors import ErrorCode, ModelLoadError, ServiceError

# auto_error=False: a missing or malformed header gets the service's own 401, not FastAPI's.
bearer = HTTPBearer(auto_error=False, description="The PHISHLINE_ADMIN_TOKEN setting.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def require_admin(service: ServiceDep, credentials: Credentials) -> None:
    """The configured admin token as a bearer token; with none configured the routes are off."""
    token = service.settings.admin_token
    if token is None:
        raise ServiceError(
            403,
            ErrorCode.ADMIN_DISABLED,
            "the admin routes are off: set PHISHLINE_ADMIN_TOKEN to turn them on "
            "(SIGHUP reloads the models without them)",
        )
    given = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(given, token.get_secret_value().encode()):
        raise ServiceError(
            401,
            ErrorCode.UNAUTHORIZED,
            "send the admin token: Authorization: Bearer <PHISHLINE_ADMIN_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )


router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=error_responses(401, 403),
)


@router.post("/reload", summary="Reload the models", responses=error_responses(500))
async def reload_models(store: StoreDep) -> ReloadResponse:
    """Load the configured models anew and swap them in atomically; requests in flight finish
    on the old models, and if loading fails the old models stay. Send
    `Authorization: Bearer <PHISHLINE_ADMIN_TOKEN>`; with no token configured the route is off."""
    try:
        # Reading and hashing artifacts takes long enough to stall every other request.
        registry = await run_in_threadpool(store.reload)
    except ModelLoadError as exc:
        kept = "the previous models stay" if store.current.models else "still no model is loaded"
        raise ServiceError(500, ErrorCode.RELOAD_FAILED, f"reload failed, {kept}: {exc}") from exc
    return ReloadResponse(models=sorted(registry.models), default_model=registry.default)
