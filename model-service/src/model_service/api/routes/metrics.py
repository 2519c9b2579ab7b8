"""GET /metrics in the Prometheus text format."""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from model_service.api.deps import ServiceDep

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format.", "content": {"text/plain": {}}}},
)
async def metrics(service: ServiceDep) -> Response:
    models = service.store.current.models
    stale = service.drift.stale_windows(models)
    if stale:
        await run_in_threadpool(service.drift.update, stale)
    service.metrics.show_drift(service.drift.reports(models))
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
