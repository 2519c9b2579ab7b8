"""What commands check before their work starts, so that a mistake is one line saying what
is wrong (exit 2, as for a usage error) rather than a traceback from deep inside a stage."""

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

errors = Console(stderr=True)


def current_project() -> Path:
    """The phishline checkout around the working directory (its params.yaml)."""
    from model_training.config import ProjectNotFoundError, project_root

    try:
        return project_root()
    except ProjectNotFoundError as error:
        errors.print(f"[red]Error:[/] {error}")
        raise typer.Exit(2) from error


def artifact_directory(value: Path | None) -> Path | None:
    """A `--model-dir` callback: refuse a directory without a model.json at once (loading the
    artifact verifies the rest)."""
    if value is not None:
        from lib_ml.artifact import MANIFEST

        if not (value / MANIFEST).is_file():
            raise typer.BadParameter(f"{value} is not a model artifact: it holds no {MANIFEST}")
    return value


def artifact_option(help_text: str) -> Any:
    """The `--model-dir` option of every command that reads one model artifact."""
    return typer.Option(help=help_text, exists=True, file_okay=False, callback=artifact_directory)
