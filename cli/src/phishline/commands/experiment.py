"""`phishline experiment plan|analyze`: size the A/B test of v1 against v2, then decide it."""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="The A/B experiment v1 (verdict) against v2 (probability): plan and decide it.",
    no_args_is_help=True,
)
console = Console()


@app.command("plan")
def plan(
    baseline: Annotated[
        float, typer.Option(help="Expected yes share of v1 (0-1).", min=0, max=1)
    ] = 0.8,
    mde: Annotated[
        float, typer.Option(help="Minimum detectable effect, absolute (0.05 = 5 points).")
    ] = 0.05,
    alpha: Annotated[float, typer.Option(help="False positive rate (two-sided).")] = 0.05,
    power: Annotated[float, typer.Option(help="Probability to detect the effect.")] = 0.8,
    answering_share: Annotated[
        float, typer.Option(help="Share of assigned users who ever answer (0-1].")
    ] = 1.0,
    users_per_day: Annotated[
        float | None, typer.Option(help="New users a day over both variants, for a duration.")
    ] = None,
    expected_v1_share: Annotated[
        float,
        typer.Option(
            help="Planned share of new users routed to v1 (the mesh's weight: 0.9 for v1 90, "
            "v2 10). The variant with the smaller share sets the duration."
        ),
    ] = 0.5,
) -> None:
    """Users per variant to detect a difference of the yes share (two proportions)."""
    from phishline.experiment.plan import plan as make_plan
    from phishline.experiment.report import percent

    try:
        sized = make_plan(
            baseline, mde, alpha, power, answering_share, users_per_day, expected_v1_share
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    console.print(
        f"Detect {percent(sized.baseline)} against {percent(sized.alternative)} "
        f"(MDE {100 * sized.minimum_detectable_effect:g} points), alpha {sized.alpha:g} "
        f"two-sided, power {sized.power:g}:"
    )
    console.print(f"  users who answer, per variant: {sized.answering_users_per_variant}")
    console.print(f"  users to assign, per variant:  {sized.assigned_users_per_variant}")
    if sized.days is not None:
        v1 = 100 * sized.expected_control_share
        console.print(f"  new users to v1 : v2:          {v1:g} % : {100 - v1:g} %")
        console.print(f"  days at {sized.users_per_day:g} new users a day: {sized.days}")


@app.command("analyze")
def analyze(
    prometheus: Annotated[
        str | None, typer.Option(help="Prometheus base URL: counts, every answer a unit.")
    ] = None,
    feedback_db: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL of the feedback store: per user.")
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Directory for experiment.md and experiment.png.")
    ] = Path("reports/experiment"),
    window: Annotated[
        str, typer.Option(help="With --prometheus: the experiment's duration so far (PromQL).")
    ] = "30d",
    namespace: Annotated[
        str | None,
        typer.Option(
            help="With --prometheus: the Kubernetes namespace of the release under test, "
            "when Prometheus holds several."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="With --feedback-db: the experiment's start, ISO 8601 (UTC without an "
            "offset); results shown earlier are left out."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="With --feedback-db: the experiment's end, as --since; excluded."),
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level (two-sided).")] = 0.05,
    sequential: Annotated[
        bool,
        typer.Option(help="Always-valid mSPRT: safe to run at every look, stop when it rejects."),
    ] = False,
    tau: Annotated[
        float, typer.Option(help="mSPRT mixing standard deviation: the effect size you expect.")
    ] = 0.05,
    expected_v1_share: Annotated[
        float, typer.Option(help="Planned share of users routed to v1, for the SRM check.")
    ] = 0.5,
) -> None:
    """Decide the experiment from Prometheus or the feedback database; write the report."""
    from phishline.experiment.analyze import analyze as run_analysis
    from phishline.experiment.report import (
        NOT_ENOUGH_DATA,
        caveat,
        interval_text,
        mean_share_text,
        share_interval,
        write_report,
    )

    # A source that cannot be read (SourceError, or a SQLite file that does not exist) ends
    # the command with one `Error:` line: see phishline.cli.main.
    from phishline.experiment.sources import from_feedback_db, from_prometheus

    if (prometheus is None) == (feedback_db is None):
        raise typer.BadParameter("give exactly one of --prometheus URL or --feedback-db URL")
    if prometheus and (since or until):
        raise typer.BadParameter("--since and --until go with --feedback-db; --window here")
    if feedback_db and namespace:
        raise typer.BadParameter("--namespace goes with --prometheus")
    try:
        start, end = (
            None if text is None else datetime.fromisoformat(text) for text in (since, until)
        )
        data = (
            from_prometheus(prometheus, window, namespace)
            if prometheus
            else from_feedback_db(str(feedback_db), start, end)
        )
        result = run_analysis(
            data.control,
            data.treatment,
            alpha=alpha,
            expected_control_share=expected_v1_share,
            sequential=sequential,
            tau=tau,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    files = write_report(result, data, out)

    assigned = "answered" if data.unit == "user" else "assigned"
    table = Table("variant", assigned, f"{data.unit}s", "yes share", "interval")
    for variant in (result.control, result.treatment):
        table.add_row(
            variant.name,
            str(variant.assigned),
            str(variant.units),
            mean_share_text(variant),
            interval_text(share_interval(variant, alpha)),
        )
    console.print(f"source: {data.source}")
    console.print(table)
    console.print(
        f"SRM: chi-squared {result.srm.chi_squared:.3f}, "
        f"exact binomial p = {result.srm.p_value:.3g}"
    )
    comparison = result.comparison
    if comparison.enough_data:
        console.print(
            f"{comparison.method}: v2 - v1 = {100 * comparison.difference:+.2f} points, "
            f"p = {comparison.p_value:.3g}, CI {100 * comparison.ci_low:+.2f} to "
            f"{100 * comparison.ci_high:+.2f}"
        )
    else:
        console.print(f"{comparison.method}: {NOT_ENOUGH_DATA}")
    if (warning := caveat(data)) is not None:
        console.print(f"[yellow]Warning:[/] {warning}")
    console.print(f"report: {files.markdown} ({files.plot.name})")
    # Last and alone on its line, for people and scripts alike.
    typer.echo(result.decision)
