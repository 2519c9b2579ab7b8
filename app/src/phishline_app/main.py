"""The FastAPI application: one codebase, the variant (v1 verdict, v2 probability) from settings."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from lib_version import VersionUtil
from phishline_app import DISTRIBUTION
from phishline_app.api.deps import AppContext, Runtime
from phishline_app.api.errors import (
    ShutdownCutoffMiddleware,
    error_page,
    install_error_handlers,
)
from phishline_app.api.routes import api, health, metrics, pages
from phishline_app.core.config import Settings
from phishline_app.core.identity import IdentityMiddleware
from phishline_app.core.metrics import AppMetrics, RequestMetricsMiddleware
from phishline_app.core.security import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from phishline_app.core.signing import Signer
from phishline_app.core.tracing import RequestTracingMiddleware
from phishline_app.db.store import FeedbackStore
from phishline_app.services.model_client import ModelClient

PACKAGE_DIR = Path(__file__).resolve().parent


def create_app(settings: Settings) -> FastAPI:
    """Build the app for `settings`; resources open when it starts serving."""
    app_version = VersionUtil.version_of(DISTRIBUTION)
    app_metrics = AppMetrics(variant=settings.variant, version=app_version)
    templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
    context = AppContext(
        settings=settings,
        metrics=app_metrics,
        signer=Signer(settings.secret_key.get_secret_value()),
        templates=templates,
        app_version=app_version,
        lib_version=VersionUtil.get_version(),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Runtime]]:
        # Fails fast when the database is unreachable at start: an orchestrator restarts us.
        store = await run_in_threadpool(FeedbackStore.open, settings.database_url)
        client = ModelClient(
            settings.model_service_url, settings.model_service_timeout, app_metrics
        )
        try:
            yield {"runtime": Runtime(client=client, store=store)}
        finally:
            await client.aclose()
            store.close()

    app = FastAPI(
        title="phishline app",
        version=app_version,
        description=f"phishline web app, variant {settings.variant}.",
        lifespan=lifespan,
        # The interactive docs load scripts from a CDN, which the page's CSP forbids.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        # Observed through Prometheus and logs that name each request (its trace context is
        # forwarded to model-service): FastAPI's OpenTelemetry hooks would only look up
        # unconfigured providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.context = context
    install_error_handlers(app)
    app.include_router(pages.router)
    app.include_router(api.json_router)
    app.include_router(api.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    # Added innermost first: metrics see every answer, including refusals of the others.
    app.add_middleware(
        IdentityMiddleware,
        variant=settings.variant,
        secure=settings.secure_cookies,
        on_new_user=app_metrics.user_assigned,
    )
    too_long = (
        f"{settings.max_body_bytes:,} bytes: links of up to {settings.max_url_length:,} "
        "characters can be checked"
    )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        page=lambda: error_page(context, 413, too_long),
    )
    # Inside the headers, metrics and request id: its 503 gets all three.
    app.add_middleware(ShutdownCutoffMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestMetricsMiddleware, metrics=app_metrics)
    app.add_middleware(RequestTracingMiddleware)
    return app
