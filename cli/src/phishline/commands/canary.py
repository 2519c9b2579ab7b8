"""`phishline canary replay`: where Flagger would promote or roll back a canary, given
recorded metric series and the Helm chart's analysis values."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Progressive delivery (Flagger) tools.", no_args_is_help=True)
console = Console()
CHART_VALUES = Path("operation/helm/phishline/values.yaml")


def _load_values(files: list[Path]) -> dict[str, Any]:
    """The chart's values.yaml with `files` merged over it in order, as `helm -f` does."""
    import yaml

    from phishline.canary import merge_values
    from phishline.commands.checks import current_project

    values: dict[str, Any] = {}
    for path in [current_project() / CHART_VALUES, *files]:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise typer.BadParameter(f"{path}: {exc}", param_hint="--values") from exc
        values = merge_values(values, loaded)
    return values


@app.command("replay")
def replay_command(
    series: Annotated[
        Path,
        typer.Argument(
            help="CSV: one row per analysis interval, one column per check (its name), "
            "optional acceptance-test column (pass/fail). Row 1 is the pre-rollout step."
        ),
    ],
    target: Annotated[
        str, typer.Option(help="The canary: model-service (progressive) or app (blue/green).")
    ] = "model-service",
    values: Annotated[
        list[Path] | None,
        typer.Option(
            "--values",
            "-f",
            help=f"Values files merged in order over the chart's {CHART_VALUES}, like "
            "Helm's -f (run within the repository).",
        ),
    ] = None,
) -> None:
    """Print the step at which the canary would be promoted or rolled back."""
    from phishline.canary import Decision, SeriesError, analysis_from_values, read_series, replay

    if target not in ("model-service", "app"):
        raise typer.BadParameter("model-service or app", param_hint="--target")
    try:
        analysis = analysis_from_values(
            _load_values(values or []), "app" if target == "app" else "model-service"
        )
        outcome = replay(analysis, read_series(series, analysis))
    except (ValueError, SeriesError, OSError) as exc:
        raise typer.BadParameter(str(exc), param_hint="SERIES or --values") from exc

    table = Table("step", "iteration" if analysis.blue_green else "weight", "failed", "event")
    for step in outcome.steps:
        progress = step.iteration if analysis.blue_green else step.weight
        table.add_row(str(step.number), str(progress), str(step.failed_checks), step.event)
    console.print(table)
    schedule = (
        f"{analysis.iterations} iterations"
        if analysis.blue_green
        else f"step {analysis.step_weight} % to {analysis.max_weight} %"
    )
    rule = f"every {analysis.interval}, {schedule}, rollback at {analysis.threshold} failed checks"
    if outcome.decision is Decision.UNDECIDED:
        console.print(f"undecided after {len(outcome.steps)} intervals ({rule}): record more")
    else:
        console.print(f"{target}: {outcome.decision} at step {outcome.step} ({rule})")
