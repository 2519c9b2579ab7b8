"""Run the app with uvicorn; SIGTERM/SIGINT finish in-flight requests before exiting."""

import logging
import sys

import uvicorn

from phishline_app.core.config import Settings
from phishline_app.core.tracing import RequestIdLogFilter
from phishline_app.main import create_app

# Time given to in-flight requests after SIGTERM (well under Kubernetes' default 30 s).
GRACEFUL_SHUTDOWN_SECONDS = 10
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


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
        log_config=None,  # configure_logging routes uvicorn's loggers, access log included
    )
    return uvicorn.Server(config)


def configure_logging(level: str) -> None:
    """One handler on stderr for every logger, uvicorn's included, each line naming the
    request it belongs to (the id model-service logs for the same request)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestIdLogFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if level != "trace" else "DEBUG")
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def run(settings: Settings) -> None:
    configure_logging(settings.log_level)
    logging.getLogger(__name__).info(
        "phishline app %s on http://%s:%d (model-service %s)",
        settings.variant, settings.host, settings.port, settings.model_service_url,
    )  # fmt: skip
    build_server(settings).run()
