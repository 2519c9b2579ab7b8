"""`phishline bench ...`: benchmarks that print figures (and save them under reports/bench/)."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table

from phishline.commands.checks import current_project

app = typer.Typer(help="Benchmarks: training cost, serving, end-to-end.", no_args_is_help=True)
console = Console()
REPORTS = Path("reports") / "bench"


def require_models(model_dir: Path) -> None:
    """Refuse at once a directory without artifacts: the service would never become ready."""
    from lib_ml import find_artifacts

    if not find_artifacts(model_dir):
        raise typer.BadParameter(
            f"no model artifacts in {model_dir}; train first (`phishline train`)",
            param_hint="--model-dir",
        )


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

    results = run_bench(tuple(int(s) for s in sizes.split(",")), current_project())
    table = Table("URLs", "seconds", "µs per URL", "peak RSS (MiB)")
    for row in results:
        table.add_row(
            f"{row['urls']:,}", f"{row['seconds']:.1f}", f"{row['us_per_url']:.1f}",
            f"{row['peak_rss_mib']:.0f}",
        )  # fmt: skip
    console.print(table)
    console.print(f"saved {save('train', results)}")


# The cases of `bench serve` and their short labels (the JSON keeps the full names).
_SERVE_CASES = {
    "bare_json": "bare JSON",
    "single_predict": "predict, top-5",
    "single_predict_no_explanation": "predict",
    "single_predict_linear_no_explanation": "predict, linear",
    "batch_predict_linear": "batch, linear",
}


@app.command("serve")
def bench_serve(
    model_dir: Annotated[Path, typer.Option(help="Directory of model artifacts.")] = Path("models"),
    seconds: Annotated[float, typer.Option(help="Seconds per measured case.")] = 5.0,
    connections: Annotated[int, typer.Option(help="Keep-alive connections of the load.")] = 16,
    batch_size: Annotated[int, typer.Option(help="URLs per batch request.")] = 1000,
    log_level: Annotated[str, typer.Option(help="model-service's log level.")] = "info",
) -> None:
    """model-service alone: throughput, latency, CPU per request and memory of one process."""
    from model_service.bench import run_bench

    require_models(model_dir)
    results = run_bench(model_dir, seconds, connections, batch_size, log_level)
    table = Table("case", "req/s", "vs bare", "p50 ms", "p99 ms", "p99 ms, half rate", "CPU ms/req")
    for case, label in _SERVE_CASES.items():
        row = results[case]
        half_rate = row.get("at_half_rate")
        table.add_row(
            label, f"{row['requests_per_s']:,.0f}", str(row.get("ratio_to_bare", "")),
            f"{row['p50_ms']:.2f}", f"{row['p99_ms']:.2f}",
            f"{half_rate['p99_ms']:.2f}" if half_rate else "",
            f"{row['server_cpu_ms_per_request']:.2f}",
        )  # fmt: skip
    console.print(table)
    batch = results["batch_predict_linear"]
    console.print(f"batch: {batch['items_per_s']:,.0f} URLs/s")
    failures = sum(results[case]["failures"] for case in _SERVE_CASES)
    if failures:
        console.print(f"[red]{failures} requests failed[/red]")
    console.print(f"RSS {results['rss_mib']} MiB (peak {results['peak_rss_mib']} MiB)")
    console.print(f"saved {save('serve', results)}")


@app.command("predictor")
def bench_predictor(
    model_dir: Annotated[Path, typer.Option(help="Directory of model artifacts.")] = Path("models"),
    repeats: Annotated[int, typer.Option(help="Runs per case; the best counts.")] = 5,
) -> None:
    """lib-ml's predict in-process: ms per call at the service's micro-batch sizes.

    Each model's times are split into a cost per call and a cost per URL."""
    from model_service.bench.predictor import run_predictor_bench

    require_models(model_dir)
    results = run_predictor_bench(model_dir, repeats=repeats)
    sizes = results["settings"]["batch_sizes"]
    table = Table(
        Column("model", no_wrap=True), "k", *map(str, sizes), "per call", "µs/URL",
        title="ms per predict call by URLs per call (k: top-k explanation); fitted split",
    )  # fmt: skip
    for name, cases in results["models"].items():
        for case, row in cases.items():
            table.add_row(
                name, case.rsplit("_", 1)[-1], *(f"{row['ms_per_call'][str(s)]:.2f}" for s in sizes),
                f"{row['fitted_ms_per_call']:.2f}", f"{row['fitted_ms_per_url'] * 1e3:.0f}",
            )  # fmt: skip
    console.print(table)
    console.print(f"saved {save('predictor', results)}")


@app.command("e2e")
def bench_e2e(
    model_dir: Annotated[Path, typer.Option(help="Directory of model artifacts.")] = Path("models"),
    concurrency: Annotated[
        str, typer.Option(help="Comma-separated numbers of concurrent clients.")
    ] = "1,2,4,8,16,32",
    seconds: Annotated[float, typer.Option(help="Seconds per concurrency level.")] = 5.0,
    sustain_seconds: Annotated[
        float, typer.Option(help="Seconds of the run at 80 % of the maximum.")
    ] = 10.0,
    soak: Annotated[
        bool, typer.Option("--soak", help="Sustain the 80 % load for --soak-seconds instead.")
    ] = False,
    soak_seconds: Annotated[float, typer.Option(help="Length of the --soak run.")] = 600.0,
    variant: Annotated[str, typer.Option(help="App variant in front of model-service.")] = "v1",
    log_level: Annotated[str, typer.Option(help="Both servers' log level.")] = "info",
) -> None:
    """The app and model-service as real processes: throughput, latency and memory.

    Throughput and latency against concurrency (through the app and straight to
    model-service), then at 80 % of the app's maximum sustained, with both servers' memory.
    JSON, Markdown and PNG plots under reports/bench/."""
    from phishline.bench_e2e.measure import run_e2e_bench
    from phishline.bench_e2e.report import write_report

    require_models(model_dir)
    levels = tuple(int(level) for level in concurrency.split(","))
    results = run_e2e_bench(
        model_dir, levels, seconds, soak_seconds if soak else sustain_seconds, variant, log_level
    )
    table = Table("target", "clients", "req/s", "p50 ms", "p99 ms", "errors")
    for row in results["sweep"]:
        table.add_row(
            row["target"], str(row["concurrency"]), f"{row['requests_per_s']:.1f}",
            f"{row['p50_ms']:.1f}", f"{row['p99_ms']:.1f}", str(row["errors"]),
        )  # fmt: skip
    console.print(table)
    run = results["sustained"]
    console.print(
        f"sustained {run['seconds']:g} s at {run['target_rate_per_s']} req/s: "
        f"{run['errors']} errors of {run['requests']}, p99 {run['p99_ms']:.1f} ms, RSS growth "
        + ", ".join(f"{name} {m['growth']:+.1%}" for name, m in run["rss_mib"].items())
    )
    for path in (save("e2e", results), *write_report(results, REPORTS)):
        console.print(f"saved {path}")
