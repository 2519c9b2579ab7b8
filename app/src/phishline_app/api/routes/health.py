"""Probes. Ready means the feedback store answers; model-service is reported, not required.

An app without model-service still serves its page with a clear message and recovers by
itself, whereas taking every app replica out of rotation whenever model-service blips would
turn a partial outage into a total one. Alerting on model-service uses its own probes.
"""

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from phishline_app.api.deps import ContextDep, RuntimeDep

router = APIRouter(prefix="/health", tags=["health"])
UpDown = Literal["up", "down"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    variant: str
    database: UpDown
    model_service: UpDown


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "live"}


@router.get("/ready", responses={503: {"model": Readiness, "description": "Database down"}})
async def ready(response: Response, context: ContextDep, runtime: RuntimeDep) -> Readiness:
    database = await run_in_threadpool(runtime.store.reachable)
    model_service = await runtime.client.ready()
    response.status_code = 200 if database else 503
    return Readiness(
        status="ready" if database else "not_ready",
        variant=context.settings.variant,
        database="up" if database else "down",
        model_service="up" if model_service else "down",
    )
