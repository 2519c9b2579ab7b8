"""`phishline serve model|app`: run model-service or the web app on one host and port."""

import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from phishline.commands.checks import refuse_unbindable

app = typer.Typer(help="Run model-service or the web app.", no_args_is_help=True)


def _given(**options: Any) -> dict[str, Any]:
    """Only the flags the user gave, so that unset flags leave env/defaults in charge."""
    return {key: value for key, value in options.items() if value is not None}


@app.command("model")
def serve_model(
    host: Annotated[str | None, typer.Option(help="Bind address \\[env PHISHLINE_HOST].")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port \\[env PHISHLINE_PORT, default 8081].")
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            help="Directory of model artifacts \\[env PHISHLINE_MODEL_DIR, default models/]."
        ),
    ] = None,
    model_url: Annotated[
        str | None,
        typer.Option(help="URL of a released artifact archive \\[env PHISHLINE_MODEL_URL]."),
    ] = None,
    default_model: Annotated[
        str | None,
        typer.Option(help="Model used when a request names none \\[env PHISHLINE_DEFAULT_MODEL]."),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="Log level \\[env PHISHLINE_LOG_LEVEL, default info].")
    ] = None,
) -> None:
    """Serve the trained models over HTTP (POST /v1/predict, /v1/predict/batch, GET /v1/models)."""
    # SIGHUP means reload: left to its default while the modules load (most of the start-up),
    # it would end the process. No model is read yet, so there is nothing to reload; the
    # server takes the signal over before it reads them.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    from model_service.core.config import Settings
    from model_service.server import run

    given = _given(
        host=host,
        port=port,
        model_dir=model_dir,
        model_url=model_url,
        default_model=default_model,
        log_level=log_level,
    )
    if model_dir is not None and model_url is None:
        # A PHISHLINE_MODEL_URL in the environment would replace the directory the flag names.
        given["model_url"] = None
    settings = Settings(**given)
    refuse_unbindable("model-service", settings.host, settings.port)
    run(settings)


@app.command("app")
def serve_app(
    variant: Annotated[
        str | None, typer.Option(help="v1 (verdict) or v2 (probability) \\[env PHISHLINE_VARIANT].")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Bind address \\[env PHISHLINE_HOST].")] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port \\[env PHISHLINE_PORT, default 8080 for v1, 8082 for v2]."),
    ] = None,
    model_service_url: Annotated[
        str | None,
        typer.Option(help="Base URL of model-service \\[env PHISHLINE_MODEL_SERVICE_URL]."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL of the feedback store "
            "\\[env PHISHLINE_DATABASE_URL, default sqlite:///feedback.db]."
        ),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="Log level \\[env PHISHLINE_LOG_LEVEL, default info].")
    ] = None,
) -> None:
    """Serve the web app in one variant."""
    from phishline_app.core.config import Settings
    from phishline_app.server import run

    settings = Settings(
        **_given(
            variant=variant,
            host=host,
            port=port,
            model_service_url=model_service_url,
            database_url=database_url,
            log_level=log_level,
        )
    )
    refuse_unbindable(f"app {settings.variant}", settings.host, settings.port)
    run(settings)
