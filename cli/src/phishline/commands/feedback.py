"""`phishline feedback export`: users' corrected labels as a DL-format dataset."""

import hashlib
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console

app = typer.Typer(help="The feedback users gave in the web app.", no_args_is_help=True)
console = Console()


@app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="Where to write `label<TAB>url` lines.")],
    database_url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL of the feedback store \\[env PHISHLINE_DATABASE_URL]."),
    ] = None,
) -> None:
    """Write every answered prediction with its corrected label ("No" flips the prediction).

    Then print the params.yaml source that adds the file to the training data."""
    from phishline_app.core.config import Settings
    from phishline_app.export import export_feedback

    url = database_url or Settings().database_url
    count = export_feedback(url, out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    console.print(f"wrote {count} labelled URLs to {out} (sha256 {digest})")
    if count:
        console.print(training_source(out, digest), markup=False, highlight=False, soft_wrap=True)


def training_source(out: Path, digest: str) -> str:
    """How to train on the exported file: the entry for `data.sources` in params.yaml, with
    the file's path in the project's data mirror (where `get_data` looks for it)."""
    from model_training.config import (
        ProjectNotFoundError,
        load_params,
        mirror_directory,
        project_root,
    )

    try:
        root = project_root()
        mirror: Path | None = mirror_directory(load_params(root), root).resolve()
    except ProjectNotFoundError:  # exporting works anywhere; the advice then is general
        mirror = None
    where = out.resolve()
    if mirror is not None and where.is_relative_to(mirror):
        path, placement = where.relative_to(mirror).as_posix(), f"it is in the data mirror {mirror}"
    else:
        path, placement = out.name, "put the file at that path in the project's data mirror"
    entry = [{"name": "feedback", "files": [{"path": path, "format": "dl", "sha256": digest}]}]
    return (
        f"To train on it ({placement}), add this source to data.sources in params.yaml (or"
        " update the sha256 of the one there), then `dvc repro`:\n"
        + yaml.safe_dump(entry, sort_keys=False)
    )
