"""`phishline feedback export`: users' corrected labels as a DL-format dataset."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="The feedback users gave in the web app.", no_args_is_help=True)
console = Console()


@app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="Where to write `label<TAB>url` lines.")],
    database_url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL of the feedback store [env PHISHLINE_DATABASE_URL]."),
    ] = None,
) -> None:
    """Write every answered prediction with its corrected label ("No" flips the prediction),
    ready to add to the training data as a `dl` source."""
    from phishline_app.core.config import Settings
    from phishline_app.export import export_feedback

    url = database_url or Settings().database_url
    count = export_feedback(url, out)
    console.print(f"wrote {count} labelled URLs to {out}")
