"""The experiment's report: a Markdown page with the decision first, and its plot (PNG)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from math import isfinite
from pathlib import Path
from statistics import NormalDist

from phishline.experiment.analyze import MIN_UNITS, SRM_THRESHOLD, Analysis, VariantData
from phishline.experiment.sources import ExperimentData

MARKDOWN_NAME = "experiment.md"
PLOT_NAME = "experiment.png"
# Said by the command and written in the report alike.
NOT_ENOUGH_DATA = (
    f"Not enough data: each variant needs at least {MIN_UNITS} units, with some variation in "
    "their answers, for the normal approximation to hold."
)
PER_ANSWER_CAVEAT = (
    "Counts from Prometheus make every answer a unit, so a user who answers often weighs more "
    "and answers of one user are not independent: the interval is too narrow. Decide on the "
    "feedback database (per user) when you can."
)


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    plot: Path


def share_interval(variant: VariantData, alpha: float) -> tuple[float, float] | None:
    """Normal-approximation interval of one variant's mean yes share, clipped to [0, 1].

    None when the approximation has nothing to say: fewer than two units, or units that all
    answered alike, whose standard error of 0 would give the share as exact."""
    if variant.units < 2 or variant.variance == 0:
        return None
    half = NormalDist().inv_cdf(1 - alpha / 2) * variant.standard_error
    return max(0.0, variant.mean - half), min(1.0, variant.mean + half)


def percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def mean_share_text(variant: VariantData) -> str:
    """The variant's yes share, or n/a before anyone in it answered (not 0 %)."""
    return percent(variant.mean) if variant.units else "n/a"


def interval_text(bounds: tuple[float, float] | None) -> str:
    if bounds is None or not all(isfinite(b) for b in bounds):
        return "n/a"
    return f"{percent(bounds[0])} to {percent(bounds[1])}"


def counted_users(data: ExperimentData) -> str:
    """Whom the sample ratio counts: the database knows only the users who answered."""
    return "users who answered" if data.unit == "user" else "users assigned"


def caveat(data: ExperimentData) -> str | None:
    """The warning that goes with the data's unit, if its interval is not to be trusted."""
    return PER_ANSWER_CAVEAT if data.unit == "answer" else None


def markdown(analysis: Analysis, data: ExperimentData, generated: datetime) -> str:
    confidence = f"{100 * (1 - analysis.alpha):g} %"
    srm = analysis.srm
    comparison = analysis.comparison
    unit = "user who answered" if data.unit == "user" else "answer"
    counted = counted_users(data)
    # Answering users can also differ by more than chance when a variant changes whether
    # its users answer.
    causes = "the assignment or its logging is broken" + (
        ", or a variant changes whether its users answer" if data.unit == "user" else ""
    )
    rows = [
        f"| {v.name} | {v.assigned} | {v.units} | {v.answers} | {v.yes} | {mean_share_text(v)} "
        f"| {interval_text(share_interval(v, analysis.alpha))} |"
        for v in (analysis.control, analysis.treatment)
    ]
    lines = [
        "# A/B experiment: v1 (verdict) against v2 (probability)",
        "",
        f"**Decision: {analysis.decision}**",
        "",
        f"Source: {data.source}. Unit: the {unit}. Generated {generated:%Y-%m-%d %H:%M} UTC.",
        "",
        f"| variant | {counted} | units | answers | yes | yes share | {confidence} interval |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "## Sample ratio",
        "",
        f"{counted.capitalize()} v1 : v2 = {srm.assigned[0]} : {srm.assigned[1]}, planned "
        f"{percent(srm.expected_control_share)} to v1: chi-squared = {srm.chi_squared:.3f}, "
        f"exact binomial p = {srm.p_value:.3g}. "
        + (
            f"**Mismatch** (p < {SRM_THRESHOLD:g}): {causes}; "
            "the comparison below cannot be trusted."
            if srm.mismatch
            else f"No mismatch (p >= {SRM_THRESHOLD:g})."
        ),
        "",
        "## Difference of the yes share (v2 - v1)",
        "",
        f"Method: {comparison.method}, two-sided, alpha = {analysis.alpha:g}.",
        "",
    ]
    if comparison.enough_data:
        lines += [
            f"- difference: {100 * comparison.difference:+.2f} points "
            f"(standard error {100 * comparison.standard_error:.2f})",
            f"- p-value: {comparison.p_value:.3g}",
            f"- {confidence} confidence interval: {100 * comparison.ci_low:+.2f} to "
            f"{100 * comparison.ci_high:+.2f} points",
        ]
    else:
        lines.append(NOT_ENOUGH_DATA)
    if (warning := caveat(data)) is not None:
        lines += ["", warning]
    lines += ["", f"![yes share per variant and the difference]({PLOT_NAME})", ""]
    return "\n".join(lines)


def plot(analysis: Analysis, path: Path) -> None:
    """Each variant's yes share with its interval, and the difference with its interval."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.6), layout="constrained")
    shares, difference = figure.subplots(1, 2, width_ratios=(1, 1.3))
    for position, variant in enumerate((analysis.control, analysis.treatment)):
        bounds = share_interval(variant, analysis.alpha)
        errors = (
            [[variant.mean - bounds[0]], [bounds[1] - variant.mean]] if bounds else [[0.0], [0.0]]
        )
        shares.errorbar([position], [variant.mean], yerr=errors, fmt="o", capsize=6)
    shares.set_xticks([0, 1], [v.name for v in (analysis.control, analysis.treatment)])
    shares.set_xlim(-0.6, 1.6)
    shares.set_ylim(0, 1)
    shares.set_ylabel("yes share")
    shares.set_title("yes share per variant")

    comparison = analysis.comparison
    difference.axvline(0, color="grey", linewidth=1)
    if comparison.enough_data:
        points = 100 * comparison.difference
        difference.errorbar(
            [points],
            [0],
            xerr=[[points - 100 * comparison.ci_low], [100 * comparison.ci_high - points]],
            fmt="o",
            capsize=6,
        )
    else:
        difference.text(0.5, 0.5, "not enough data", ha="center", transform=difference.transAxes)
    difference.set_yticks([])
    difference.set_xlabel(f"v2 - v1 in points, {100 * (1 - analysis.alpha):g} % interval")
    difference.set_title(analysis.decision)
    figure.savefig(path, dpi=100)


def write_report(analysis: Analysis, data: ExperimentData, out_dir: Path) -> ReportFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out_dir / MARKDOWN_NAME, out_dir / PLOT_NAME)
    plot(analysis, files.plot)
    files.markdown.write_text(markdown(analysis, data, datetime.now(UTC)), encoding="utf-8")
    return files
