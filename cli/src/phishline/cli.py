"""`phishline`: one command for the common jobs of the project.

Each subcommand imports its component lazily, so `phishline --help` stays fast and a
component's heavy dependencies load only when that job runs.
"""

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from lib_version import VersionUtil

app = typer.Typer(
    name="phishline",
    help="Release-engineered phishing URL detection: data, training, serving, experiments.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
console = Console()


def _print_version(value: bool) -> None:
    if value:
        cli_version = VersionUtil.version_of("phishline")
        console.print(f"phishline {cli_version} (lib-version {VersionUtil.get_version()})")
        raise typer.Exit


@app.callback()
def root(
    _show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """phishline: is this link a phishing link?"""


from phishline.commands import (  # noqa: E402  (after `app` on purpose)
    bench,
    canary,
    experiment,
    feedback,
    pipeline,
    predict,
    report,
    serve,
    up,
)
from phishline.commands.checks import errors  # noqa: E402

app.add_typer(pipeline.data_app, name="data")
app.command("train")(pipeline.train)
app.command("evaluate")(pipeline.evaluate)
app.command("predict")(predict.predict)
app.add_typer(serve.app, name="serve")
app.command("up")(up.up)
app.add_typer(bench.app, name="bench")
app.add_typer(report.app, name="report")
app.add_typer(canary.app, name="canary")
app.add_typer(experiment.app, name="experiment")
app.add_typer(feedback.app, name="feedback")


# Errors that say what is wrong with the input or the setup, not with the program: shown as
# one message, not a traceback. Named by module, so that checking them imports nothing.
INPUT_ERRORS = (
    ("pydantic", "ValidationError"),  # settings from flags and PHISHLINE_* variables
    ("lib_ml.artifact", "ArtifactError"),  # a model artifact missing a file or tampered with
    ("model_training.config", "ParamsError"),  # a value of params.yaml the stages refuse
    ("model_training.get_data", "DataUnavailableError"),  # offline and no data mirror
    ("model_training.train", "UnusableSplitError"),  # a prepared split without both labels
    ("model_training.sources", "SourceFormatError"),  # a data file not of its format
    ("sqlalchemy.exc", "ArgumentError"),  # a database URL that is not one
    ("phishline.experiment.sources", "SourceError"),  # an experiment source that cannot be read
    ("phishline_app.db.store", "UnreadableStoreError"),  # not a feedback store, or failing
)


def is_input_error(error: Exception) -> bool:
    if isinstance(error, OSError):  # a path that is missing, a directory, not allowed, ...
        return True
    return any(
        isinstance(error, kind)
        for module, name in INPUT_ERRORS
        if isinstance(kind := getattr(sys.modules.get(module), name, None), type)
    )


def describe(error: Exception) -> str:
    """The error in a line or a few: each invalid setting with what is wrong with it."""
    listed = getattr(error, "errors", None)
    if callable(listed) and type(error).__name__ == "ValidationError":
        return "; ".join(
            # A check of several settings together has no location, and its input is all of them.
            f"{'.'.join(map(str, item['loc']))}: {item['msg']} (got {item.get('input')!r})"
            if item["loc"]
            else item["msg"]
            for item in listed()
        )
    return str(error)


def main() -> None:
    try:
        app()
    except SystemExit as stop:
        if not isinstance(stop.code, str):  # Click's and Typer's exits carry a status
            raise
        # A server that refuses to start says why (model-service: no usable models).
        errors.print(f"[red]Error:[/] {escape(stop.code)}", soft_wrap=True)
        raise SystemExit(1) from None
    except Exception as error:
        if not is_input_error(error):
            raise
        errors.print(f"[red]Error:[/] {escape(describe(error))}", soft_wrap=True)
        raise SystemExit(1) from None
