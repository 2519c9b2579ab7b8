"""`phishline data get|prepare`, `phishline train`, `phishline evaluate`: the DVC stages by hand."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from phishline.commands.checks import artifact_option, current_project

data_app = typer.Typer(help="Get and prepare the training data (DVC stages).", no_args_is_help=True)
# Lines are left whole, for terminals to wrap: piped or redirected, Rich would break them at 80
# columns, paths included (tables still fit the width).
console = Console(soft_wrap=True)


@data_app.command("get")
def data_get() -> None:
    """Put the pinned raw files under data/raw (local mirror first, else download)."""
    from model_training.get_data import get_data

    for entry in get_data(current_project()):
        console.print(f"{entry['path']}: {entry['origin']} (sha256 {entry['sha256'][:12]}…)")


@data_app.command("prepare")
def data_prepare() -> None:
    """Normalize, de-duplicate and split by registered domain into data/prepared."""
    from model_training.prepare import prepare

    stats = prepare(current_project())
    table = Table("split", "URLs", "phishing", "legitimate", "domains")
    for name, split in stats["splits"].items():
        table.add_row(name, *(str(split[k]) for k in ("urls", "phishing", "legitimate", "domains")))
    console.print(table)
    console.print(f"cleaning: {stats['counts']}")


def train() -> None:
    """Train the model families configured in params.yaml into models/."""
    from model_training.train import train as run_training

    table = Table("model", "val F1", "val ROC AUC", "threshold", "seconds")
    for built in run_training(current_project()):
        manifest, validation = built.manifest, built.manifest["metrics"]["validation"]
        table.add_row(
            manifest["name"], f"{validation['f1']:.4f}", f"{validation['roc_auc']:.5f}",
            f"{manifest['threshold']:.3f}", f"{built.seconds:.1f}",
        )  # fmt: skip
    console.print(table)


def evaluate(
    model_dir: Annotated[Path, artifact_option("A model artifact directory.")],
    data: Annotated[
        Path,
        typer.Option(
            help="A labelled data file, or a directory: every file of the format in it.",
            exists=True,
        ),
    ],
    out: Annotated[Path, typer.Option(help="Where to write the metrics JSON.")],
    data_format: Annotated[
        str, typer.Option("--format", help="dl (label<TAB>url), csv (url,label) or ebbu (JSON).")
    ] = "dl",
) -> None:
    """Metrics of any artifact on any labelled file or directory, e.g. from another source."""
    from lib_ml import ArtifactError, Predictor
    from model_training.evaluate import NothingToEvaluateError, evaluate_examples
    from model_training.sources import FORMATS, SourceFormatError, read_labelled_path

    data_format = data_format.lower()
    if data_format not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}", param_hint="--format")
    try:
        predictor = Predictor.load(model_dir)
    except ArtifactError as exc:
        raise typer.BadParameter(str(exc), param_hint="--model-dir") from exc
    try:
        metrics = evaluate_examples(predictor, read_labelled_path(data, data_format)).metrics
    except (SourceFormatError, NothingToEvaluateError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--data") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    counts = metrics["data"]
    dropped = counts["read"] - counts["kept"]
    console.print(
        f"{metrics['model']['name']} on {data} ({counts['kept']:,} URL"
        + ("" if counts["kept"] == 1 else "s")
        + (f"; {dropped:,} invalid, duplicate or conflicting dropped" if dropped else "")
        + f"): {_headline(metrics)}, accuracy {metrics['accuracy']:.4f} → {out}"
    )


def _headline(metrics: dict[str, Any]) -> str:
    """F1 and ROC AUC; on a file of one class (an Ebbu file holds one label), where ROC AUC is
    undefined and F1 is 0 after a single mistake, how many of its URLs the model got right."""
    (legitimate_ok, flagged), (missed, caught) = metrics["confusion_matrix"]
    if not missed + caught:
        legitimate = legitimate_ok + flagged
        return (
            f"no phishing URLs; {flagged:,} of {legitimate:,} flagged as phishing "
            f"(false-positive rate {flagged / legitimate:.2%})"
        )
    if not legitimate_ok + flagged:
        phishing = missed + caught
        return (
            f"no legitimate URLs; {caught:,} of {phishing:,} caught "
            f"(recall {caught / phishing:.2%})"
        )
    return f"F1 {metrics['f1']:.4f}, ROC AUC {metrics['roc_auc']:.4f}"
