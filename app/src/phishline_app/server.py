"""Run the app with uvicorn; SIGTERM/SIGINT finish in-flight requests before exiting."""

import logging
import sys

import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from phishline_app.core.config import Settings
from phishline_app.core.tracing import RequestIdLogFilter
from phishline_app.db.store import create_store_engine
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


def refuse_unreachable_store(raw_url: str) -> None:
    """Stop with one line when the feedback store does not answer: start-up would fail on it
    anyway (after its retries, with a traceback of the lifespan)."""
    engine = create_store_engine(raw_url)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        shown = engine.url.render_as_string(hide_password=True)
        raise SystemExit(
            f"the app cannot start: the feedback store {shown} fails: {reason}"
        ) from exc
    finally:
        engine.dispose()


def run(settings: Settings) -> None:
    configure_logging(settings.log_level)
    refuse_unreachable_store(settings.database_url)
    logging.getLogger(__name__).info(
        "phishline app %s on http://%s:%d (model-service %s)",
        settings.variant, settings.host, settings.port, settings.model_service_url,
    )  # fmt: skip
    build_server(settings).run()
