"""Run the app with uvicorn; SIGTERM/SIGINT finish in-flight requests before exiting."""

import logging

import uvicorn

from phishline_app.core.config import Settings
from phishline_app.main import create_app

# Time given to in-flight requests after SIGTERM (well under Kubernetes' default 30 s).
GRACEFUL_SHUTDOWN_SECONDS = 10


def build_server(settings: Settings) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
        proxy_headers=False,
        ws="none",
    )
    return uvicorn.Server(config)


def run(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper() if settings.log_level != "trace" else "DEBUG",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger(__name__).info(
        "phishline app %s on http://%s:%d (model-service %s)",
        settings.variant, settings.host, settings.port, settings.model_service_url,
    )  # fmt: skip
    build_server(settings).run()
