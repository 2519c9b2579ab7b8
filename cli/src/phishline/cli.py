"""`phishline`: one command for the common jobs of the project.

Each subcommand imports its component lazily, so `phishline --help` stays fast and a
component's heavy dependencies load only when that job runs.
"""

from typing import Annotated

import typer
from rich.console import Console

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


def main() -> None:
    app()
