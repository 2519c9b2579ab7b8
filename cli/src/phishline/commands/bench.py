"""`phishline bench ...`: benchmarks that print figures (and save them under reports/bench/)."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Benchmarks: training cost, serving, end-to-end.", no_args_is_help=True)
console = Console()
REPORTS = Path("reports") / "bench"


def save(name: str, payload: Any) -> Path:
    REPORTS.mkdir(parents=True, exist_ok=True)
    path = REPORTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


@app.command("train")
def bench_train(
    sizes: Annotated[
        str, typer.Option(help="Comma-separated numbers of URLs.")
    ] = "100000,500000,2000000",
) -> None:
    """Linear-model training time and peak RSS at growing data sizes (one process each)."""
    from model_training.bench import run_bench

    results = run_bench(tuple(int(s) for s in sizes.split(",")))
    table = Table("URLs", "seconds", "µs per URL", "peak RSS (MiB)")
    for row in results:
        table.add_row(
            f"{row['urls']:,}", f"{row['seconds']:.1f}", f"{row['us_per_url']:.1f}",
            f"{row['peak_rss_mib']:.0f}",
        )  # fmt: skip
    console.print(table)
    console.print(f"saved {save('train', results)}")
