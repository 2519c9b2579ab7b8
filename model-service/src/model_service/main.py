"""The FastAPI application."""

from functools import partial
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI

from model_service.api.deps import ServiceState
from model_service.api.errors import install_error_handlers
from model_service.api.main import api_router
from model_service.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from model_service.core.batching import PredictionBatcher
from model_service.core.config import Settings
from model_service.core.drift import DriftMonitor
from model_service.core.metrics import ServiceMetrics
from model_service.core.registry import ModelRegistry, ModelStore, load_registry

DESCRIPTION = """Scores URLs as phishing or legitimate with verified lib-ml model artifacts.

Every error is JSON: `{"error": {"code": "...", "message": "..."}}`; bad input always gets a 4xx.
"""


def _package_version() -> str:
    try:
        return version("phishline-model-service")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(settings: Settings, registry: ModelRegistry | None = None) -> FastAPI:
    """The service over `registry`, or over the models the settings point at (loaded and
    verified now; raises ModelLoadError when they cannot be)."""
    metrics = ServiceMetrics()
    loader = partial(load_registry, settings)
    store = ModelStore(registry if registry is not None else loader(), loader, metrics)
    app = FastAPI(
        title="phishline model-service",
        version=_package_version(),
        description=DESCRIPTION,
        # Observed through Prometheus and JSON logs: FastAPI's OpenTelemetry hooks would only
        # look up unconfigured providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    batcher = PredictionBatcher(metrics.requests_in_flight)
    app.state.service = ServiceState(
        settings, store, metrics, DriftMonitor(settings.drift_window), batcher
    )
    install_error_handlers(app)
    app.include_router(api_router)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    # Added last, so outermost: it sees every response, including the size limit's.
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app
