"""What commands check before their work starts, so that a mistake is one line saying what
is wrong (exit 2, as for a usage error) rather than a traceback from deep inside a stage."""

import socket
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


def bind_refusal(port: int, host: str = "127.0.0.1") -> str | None:
    """Why host:port cannot be listened on (in use, not allowed, no such address), or None.
    In use, it may be a `phishline up` still running, whose health endpoint would answer for
    the service about to start there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def refuse_unbindable(service: str, host: str, port: int) -> None:
    """Stop before `service` loads anything when it cannot listen (the server would find out
    only after its start-up)."""
    if reason := bind_refusal(port, host):
        errors.print(f"[red]Error:[/] {service} cannot start: {host}:{port}: {reason}")
        raise typer.Exit(1)
