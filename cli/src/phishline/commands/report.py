"""`phishline report ...`: data plots and checks, feature cost, mutamorphic robustness, the
scheme shortcut, the reference baseline, the refit check, mutation testing and the ML Test
Score, written under reports/."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from phishline.commands.checks import artifact_option, current_project

app = typer.Typer(
    help="Reports on data, features, robustness and tests (written under reports/).",
    no_args_is_help=True,
)
console = Console()


# The model a report is about, where one is.
ModelDir = Annotated[
    Path | None, artifact_option("A model artifact directory (default the ensemble).")
]


@app.command("data")
def report_data(
    prepared: Annotated[
        Path | None, typer.Option(help="Directory of train/val/test.txt (default data/prepared).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default reports/data).")
    ] = None,
) -> None:
    """Plot URL length, character classes, scheme and TLD shares per split, and check them."""
    from model_training.data_report import data_report

    report = data_report(current_project(), prepared=prepared, out_dir=out)
    for key in ("schema", "labels", "leakage"):
        problems = report.checks.get(key, [])
        console.print(f"{key}: {'ok' if not problems else f'{len(problems)} problems'}")
        for problem in problems[:10]:
            console.print(f"  {problem}")
    table = Table("property", "splits", "test", "p-value", "effect", "max effect", "verdict")
    for check in report.checks.get("distributions", []):
        table.add_row(
            check["prop"], " vs ".join(check["pair"]), check["test"], f"{check['p_value']:.2g}",
            f"{check['effect']:.3f}", f"{check['max_effect']}",
            "ok" if check["passed"] else "[red]differs[/red]",
        )  # fmt: skip
    console.print(table)
    for plot in report.plots:
        console.print(f"saved {plot}")
    if not report.passed:
        raise typer.Exit(1)


@app.command("feature-cost")
def report_feature_cost(
    limit: Annotated[int, typer.Option(min=1, help="URLs per split (a seeded sample).")] = 5000,
) -> None:
    """Train on the prepared splits and measure each feature group (time, memory, value)."""
    from model_training.feature_cost import feature_cost_report

    costs, paths = feature_cost_report(current_project(), limit=limit)
    table = Table("group", "µs per URL", "peak MiB", "training s", "marginal ROC AUC")
    for cost in costs:
        table.add_row(
            cost.group, f"{cost.featurize_us_per_url:.1f}", f"{cost.featurize_peak_mib:.1f}",
            f"{cost.training_seconds:.2f}", f"{cost.marginal_roc_auc:+.4f}",
        )  # fmt: skip
    console.print(table)
    for path in paths:
        console.print(f"saved {path}")


@app.command("mutamorphic")
def report_mutamorphic(
    model_dir: ModelDir = None,
    data: Annotated[
        Path | None, typer.Option(help="A DL-format file of URLs (default the test split).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many URLs of the file.")] = 1000,
    out: Annotated[Path | None, typer.Option(help="Output directory (default reports).")] = None,
) -> None:
    """Label-flip rates under semantics-preserving URL rewrites, before and with repair."""
    from lib_ml import Predictor
    from model_training.config import Paths
    from model_training.mutamorphic import mutamorphic_report, write_report
    from model_training.sources import read_dl

    paths = Paths(current_project())
    data = data or paths.prepared / "test.txt"
    urls = [example.url for example in read_dl(data)][:limit]
    report = mutamorphic_report(Predictor.load(model_dir or paths.models / "ensemble"), urls)
    table = Table("rewrite", "URLs", "flip rate", "largest change", "repaired flip rate")
    for plain, repaired in zip(report["plain"], report["repaired"], strict=True):
        table.add_row(
            plain["rewrite"], str(plain["urls"]), f"{plain['flip_rate']:.2%}",
            f"{plain['max_change']:.3f}", f"{repaired['flip_rate']:.2%}",
        )  # fmt: skip
    console.print(table)
    for path in write_report(report, out or paths.root / "reports"):
        console.print(f"saved {path}")


def _figure(value: float | None, spec: str) -> str:
    """A report's figure, or n/a where its set cannot define it (a set of one label)."""
    return "n/a" if value is None else format(value, spec)


@app.command("scheme")
def report_scheme(
    model_dir: ModelDir = None,
) -> None:
    """What reading the URL scheme would add to a model, and cost if phishing moves to https.

    The models ignore the scheme on purpose."""
    from model_training.scheme_shortcut import scheme_shortcut

    report, path = scheme_shortcut(model_dir, current_project())
    term = report["term"]
    console.print(
        f"scheme term fitted on the test split: https weight {term['https_weight']:+.2f} "
        f"(model logit weight {term['logit_weight']:.2f}), threshold {term['threshold']:.3f}"
    )
    for name, shifts in report["sets"].items():
        https = shifts["as is"]["https_share"]
        console.print(
            f"{name}: https in {_figure(https['legitimate'], '.1%')} of legitimate and "
            f"{_figure(https['phishing'], '.1%')} of phishing URLs"
        )
    table = Table("set", "shift", "URLs", "scorer", "ROC AUC", "recall", "false-positive rate")
    for name, shifts in report["sets"].items():
        for shift, outcome in shifts.items():
            for scorer in ("model", "model with scheme"):
                row = outcome[scorer]
                table.add_row(
                    name, shift, str(outcome["urls"]), scorer, _figure(row["roc_auc"], ".4f"),
                    _figure(row["recall"], ".2%"), _figure(row["false_positive_rate"], ".2%"),
                )  # fmt: skip
    console.print(table)
    console.print(f"saved {path}")


@app.command("baseline")
def report_baseline(
    model_dir: ModelDir = None,
) -> None:
    """The targets' reference baseline against a model, on the test split and external sets.

    The baseline is character 1-5 TF-IDF + logistic regression, on the URL as written and
    scheme-free; with train.refit also refitted on train + val."""
    from model_training.reference_baseline import reference_baseline

    with console.status("fitting the baseline variants (C chosen on validation)"):
        report, path = reference_baseline(model_dir, current_project())
    table = Table("scorer", "C", "threshold", "set", "ROC AUC", "F1", "precision", "recall")
    for scorer, result in report["scorers"].items():
        c = f"{result['C']:g}" if "C" in result else ""
        for name, row in result["sets"].items():
            table.add_row(
                scorer, c, f"{result['threshold']:.3f}", name,
                *(_figure(row[key], ".4f") for key in ("roc_auc", "f1", "precision", "recall")),
            )  # fmt: skip
    console.print(table)
    console.print(f"saved {path}")


@app.command("refit")
def report_refit(
    seeds: Annotated[
        list[int] | None, typer.Option("--seed", help="One cut of train per seed (repeatable).")
    ] = None,
) -> None:
    """Whether refitting on train + val pays, decided on val (long: two trainings per cut).

    Cuts of train into a fitting and a choosing part; chosen vs refitted models."""
    from model_training.refit_check import REPORTED, refit_report

    with console.status("training, choosing and refitting on cuts of the training split"):
        results, path = refit_report(seeds or [1, 2, 3], current_project())
    table = Table("cut", "family", "rows fit/choose", "model", *(f"val {key}" for key in REPORTED))
    for row in results:
        for model in ("chosen", "refitted"):
            table.add_row(
                str(row["seed"]), row["family"], f"{row['rows'][0]}/{row['rows'][1]}",
                model, *(f"{row[model][key]:.5f}" for key in REPORTED),
            )  # fmt: skip
    console.print(table)
    console.print(f"saved {path}")


@app.command("mutation")
def report_mutation(
    max_children: Annotated[int, typer.Option(help="Mutants tested in parallel.")] = 2,
) -> None:
    """Mutation testing of lib-ml with mutmut (long: what `make mutation` runs)."""
    from model_training.mutation import mutation_report

    path = mutation_report(current_project(), max_children=max_children)
    console.print(path.read_text(encoding="utf-8"))
    console.print(f"saved {path}")


@app.command("ml-test-score")
def report_ml_test_score(
    junit: Annotated[
        Path | None,
        typer.Option(help="Score the results of an earlier pytest run instead of running tests."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Default reports/ml_test_score.md.")] = None,
) -> None:
    """The ML Test Score (Breck et al. 2017) from the tests that cover each of its 28 items."""
    from model_training.ml_test_catalogue import ITEMS, SECTIONS
    from model_training.ml_test_score import ml_test_score

    card = ml_test_score(current_project(), junit=junit, out=out)
    table = Table("item", "test", "status", "points")
    for item in ITEMS:
        table.add_row(item.key, item.title, card.statuses[item.key][0], str(card.points(item)))
    console.print(table)
    points = card.section_points()
    console.print(", ".join(f"{section}: {points[section]}/7" for section in SECTIONS))
    console.print(f"ML Test Score: {card.score}")
