"""Run the service under uvicorn: SIGTERM drains in-flight requests, SIGHUP reloads models."""

import asyncio
import gc
import logging
import signal
import threading

import uvicorn

from model_service.api.deps import service_state
from model_service.core.config import Settings
from model_service.core.errors import ModelLoadError
from model_service.core.logging import configure_logging
from model_service.core.registry import ModelStore
from model_service.main import create_app

logger = logging.getLogger(__name__)


def reload_on_signal(store: ModelStore) -> None:
    """What SIGHUP runs: reload, and on failure keep serving the old models (the store logs
    and counts the failure; a signal has nobody to report an exception to)."""
    try:
        store.reload()
    except ModelLoadError:
        logger.warning("SIGHUP reload failed; still serving the previous models")


async def _serve(
    server: uvicorn.Server, store: ModelStore, hup_while_starting: threading.Event
) -> None:
    loop = asyncio.get_running_loop()

    def reload_in_background() -> None:
        # Loading artifacts takes a while: it runs in a worker thread so requests keep flowing.
        loop.run_in_executor(None, reload_on_signal, store)

    loop.add_signal_handler(signal.SIGHUP, reload_in_background)
    if hup_while_starting.is_set():
        # The models were read before or while they changed: read them again.
        reload_in_background()
    await server.serve()


def run(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT; refuses to start (SystemExit) when models fail to load."""
    configure_logging(settings.log_level)
    # Left to its default, a SIGHUP while the models load would end the process: it is
    # remembered, and answered by a reload once serving.
    hup_while_starting = threading.Event()
    signal.signal(signal.SIGHUP, lambda _signum, _frame: hup_while_starting.set())
    try:
        app = create_app(settings)
    except ModelLoadError as exc:
        raise SystemExit(f"model-service cannot start: {exc}") from exc
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # configure_logging already routes uvicorn's loggers to JSON
        access_log=False,  # the request middleware writes the access log, with request ids
        timeout_graceful_shutdown=settings.shutdown_timeout,
        server_header=False,
    )
    server = uvicorn.Server(config)
    # What start-up created (modules, the public suffix list, the models) lives as long as the
    # process. Frozen, it is left out of the collector's full passes, each of which would
    # otherwise traverse all of it and stall every request in flight meanwhile.
    gc.collect()
    gc.freeze()
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_serve(server, service_state(app).store, hup_while_starting))
