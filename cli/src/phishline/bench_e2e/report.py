"""The end-to-end benchmark's Markdown table and PNG plots (its JSON is written by the CLI)."""

from pathlib import Path
from typing import Any

TARGET_LABELS = {"app": "through the app", "model-service": "model-service alone"}
PLOTS = {
    "throughput": "e2e-throughput.png",
    "latency": "e2e-latency.png",
    "sustained": "e2e-sustained.png",
}


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _load(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def markdown(results: dict[str, Any]) -> str:
    conditions, settings = results["conditions"], results["settings"]
    models = ", ".join(f"{m['name']} {m['version']}" for m in conditions["models"])
    lines = [
        "# End-to-end benchmark",
        "",
        f"{conditions['date']}; {conditions['cpu_count']} CPUs ({conditions['platform']}, "
        f"Python {conditions['python']}); load average (1/5/15 min) "
        f"{_load(conditions['load_average_before'])} before, "
        f"{_load(conditions['load_average_after'])} after. Models: {models} "
        f"(default {conditions['default_model']}); app variant {settings['variant']}, "
        f"log level {settings['log_level']}; {settings['seconds']} s per level.",
        "",
        "## Throughput and latency against concurrency (closed loop, single-URL predictions)",
        "",
        "| target | concurrency | req/s | p50 ms | p90 ms | p99 ms | errors "
        "| CPU ms/req: app | model-service | load generator |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["sweep"]:
        cpu = row["server_cpu_ms_per_request"]
        lines.append(
            f"| {TARGET_LABELS[row['target']]} | {row['concurrency']} | {row['requests_per_s']:.1f} "
            f"| {_ms(row['p50_ms'])} | {_ms(row['p90_ms'])} | {_ms(row['p99_ms'])} "
            f"| {row['errors']} | {cpu['app']:.2f} | {cpu['model-service']:.2f} "
            f"| {row['client_cpu_ms_per_request']:.2f} |"
        )
    run = results["sustained"]
    memory = run["rss_mib"]
    lines += [
        "",
        f"## Sustained load at {settings['sustained_share']:.0%} of the maximum through the app "
        "(open loop)",
        "",
        "| planned req/s | achieved req/s | seconds | requests | errors | p50 ms | p99 ms "
        "| RSS MiB start → end (growth) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {run['target_rate_per_s']:.1f} | {run['requests_per_s']:.1f} | {run['seconds']:g} "
        f"| {run['requests']} | {run['errors']} | {_ms(run['p50_ms'])} | {_ms(run['p99_ms'])} | "
        + "; ".join(
            f"{name} {m['start']:.1f} → {m['end']:.1f} ({m['growth']:+.1%})"
            for name, m in memory.items()
        )
        + " |",
        "",
        *(f"![{name}]({file})" for name, file in PLOTS.items()),
        "",
    ]
    return "\n".join(lines)


def plot(results: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib as mpl

    mpl.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    paths = [out_dir / file for file in PLOTS.values()]
    levels = results["settings"]["levels"]
    by_target = {
        target: [row for row in results["sweep"] if row["target"] == target]
        for target in TARGET_LABELS
    }

    fig, ax = plt.subplots(figsize=(6, 4))
    for target, rows in by_target.items():
        ax.plot([r["concurrency"] for r in rows], [r["requests_per_s"] for r in rows],
                marker="o", label=TARGET_LABELS[target])  # fmt: skip
    ax.set(xscale="log", xlabel="concurrent clients", ylabel="requests/s", ylim=(0, None),
           title="Throughput against concurrency")  # fmt: skip
    ax.set_xticks(levels, [str(level) for level in levels])
    ax.legend()
    fig.tight_layout()
    fig.savefig(paths[0], dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, (target, rows) in zip(axes, by_target.items(), strict=True):
        for q in (50, 90, 99):
            ax.plot([r["concurrency"] for r in rows], [r[f"p{q}_ms"] for r in rows],
                    marker="o", label=f"p{q}")  # fmt: skip
        ax.set(xscale="log", yscale="log", xlabel="concurrent clients",
               title=f"Latency, {TARGET_LABELS[target]}")  # fmt: skip
        ax.set_xticks(levels, [str(level) for level in levels])
        ax.legend()
    axes[0].set_ylabel("ms")
    fig.tight_layout()
    fig.savefig(paths[1], dpi=120)
    plt.close(fig)

    run = results["sustained"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in run["rss_mib"]:
        ax.plot([s["t"] for s in run["rss_samples_mib"]],
                [s[name] for s in run["rss_samples_mib"]], label=f"RSS {name}")  # fmt: skip
    ax.set(xlabel="seconds", ylabel="MiB", ylim=(0, None),
           title=f"Sustained load at {run['target_rate_per_s']:.0f} req/s")  # fmt: skip
    answers = ax.twinx()
    answers.step(range(len(run["answers_per_second"])), run["answers_per_second"], where="post",
                 color="grey", alpha=0.6, label="answers/s")  # fmt: skip
    answers.set(ylabel="answers/s", ylim=(0, None))
    handles = ax.get_legend_handles_labels()[0] + answers.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="lower left")
    fig.tight_layout()
    fig.savefig(paths[2], dpi=120)
    plt.close(fig)
    return paths


def write_report(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """e2e.md and the PNG plots in out_dir; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = out_dir / "e2e.md"
    table.write_text(markdown(results), encoding="utf-8")
    return [table, *plot(results, out_dir)]
