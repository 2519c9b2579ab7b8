"""`phishline report data`: plots of the URL properties per split and the data checks.

Writes under reports/data/: one PNG per property (URL length, character classes, scheme
share, TLD share), each comparing train, val and test, and checks.json with the verdicts of
`model_training.data_checks` on the prepared splits.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# The Figure API renders with Agg and no pyplot: no display, no global figure state.
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from lib_ml import NormalizedUrl, normalize_url
from model_training.config import Paths, load_params, project_root
from model_training.data_checks import (
    category_table,
    distribution_checks,
    label_problems,
    leakage_problems,
    schema_problems,
    url_properties,
)
from model_training.prepare import SPLITS
from model_training.sources import Example, read_dl

COLORS = {"train": "#4C72B0", "val": "#DD8452", "test": "#55A868"}
CHECKS_FILE = "checks.json"


@dataclass(frozen=True)
class DataReport:
    checks: dict[str, Any]
    plots: list[Path]

    @property
    def passed(self) -> bool:
        problems = [self.checks.get(key, []) for key in ("schema", "labels", "leakage")]
        distributions = self.checks.get("distributions", [])
        return not any(problems) and all(check["passed"] for check in distributions)


def _histograms(
    values: Mapping[str, npt.NDArray[np.float64]], title: str, path: Path, log: bool = False
) -> Path:
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    lower = min(float(np.quantile(v, 0.005)) for v in values.values())
    upper = max(float(np.quantile(v, 0.995)) for v in values.values())
    if log:
        bins = np.geomspace(max(lower, 1.0), max(upper, 2.0), 40)
    else:
        bins = np.linspace(lower, max(upper, lower + 1e-9), 40)
    for split, split_values in values.items():
        # Shares per bin (not densities): comparable across splits and with log-spaced bins.
        shares = np.full(split_values.size, 1.0 / max(split_values.size, 1))
        ax.hist(split_values, bins=bins.tolist(), weights=shares, histtype="step", lw=1.8,
                color=COLORS[split], label=f"{split} (n={split_values.size})")  # fmt: skip
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_title(title)
    ax.set_ylabel("share of URLs")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _shares(
    values: Mapping[str, npt.NDArray[Any]], title: str, path: Path, top: int | None = None
) -> Path:
    columns, table = category_table(list(values.values()), top)
    shares = table / table.sum(axis=1, keepdims=True)
    fig = Figure(figsize=(max(5.0, 0.7 * len(columns) + 2), 4))
    ax = fig.add_subplot()
    width = 0.8 / len(values)
    for row, split in enumerate(values):
        ax.bar(np.arange(len(columns)) + row * width, shares[row], width,
               color=COLORS[split], label=split)  # fmt: skip
    ax.set_xticks(np.arange(len(columns)) + width * (len(values) - 1) / 2, columns)
    ax.set_title(title)
    ax.set_ylabel("share of URLs")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_distributions(
    splits: Mapping[str, Sequence[NormalizedUrl]], out_dir: Path, top_tlds: int
) -> list[Path]:
    """One PNG per property comparing the splits."""
    out_dir.mkdir(parents=True, exist_ok=True)
    properties = {name: url_properties(urls) for name, urls in splits.items()}

    def of(prop: str) -> dict[str, npt.NDArray[Any]]:
        return {name: values[prop] for name, values in properties.items()}

    plots = [
        _histograms(of("url_length"), "URL length (characters the models read)",
                    out_dir / "url_length.png", log=True),
        _shares(of("scheme"), "Scheme", out_dir / "scheme_share.png"),
        _shares(of("tld"), f"Top-level domain (top {top_tlds})", out_dir / "tld_share.png",
                top_tlds),
    ]  # fmt: skip
    for prop in ("digit_ratio", "letter_ratio", "special_ratio"):
        title = f"Share of {prop.split('_', maxsplit=1)[0]} characters"
        plots.append(_histograms(of(prop), title, out_dir / f"{prop}.png"))
    return plots


def run_checks(
    examples: Mapping[str, Sequence[Example]], thresholds: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[NormalizedUrl]]]:
    """The verdicts of every data check, JSON-ready (problem lists are empty when fine), and
    the normalized URLs per split (none when the schema check fails: they would not parse)."""
    schema = [p for split in examples.values() for p in schema_problems(split)]
    if schema:
        return {"schema": schema}, {}
    normalized = {name: [normalize_url(e.url) for e in split] for name, split in examples.items()}
    checks = {
        "schema": schema,
        "labels": label_problems(examples, thresholds["phishing_share"]),
        "leakage": leakage_problems(normalized),
        "distributions": [c.to_dict() for c in distribution_checks(normalized, thresholds)],
    }
    return checks, normalized


def data_report(
    root: Path | None = None, prepared: Path | None = None, out_dir: Path | None = None
) -> DataReport:
    """Check and plot the prepared splits (by default data/prepared → reports/data)."""
    root = root or project_root()
    thresholds = load_params(root)["tests"]["data"]
    prepared = prepared or Paths(root).prepared
    out_dir = out_dir or root / "reports" / "data"
    examples = {name: list(read_dl(prepared / f"{name}.txt")) for name in SPLITS}
    checks, normalized = run_checks(examples, thresholds)
    plots = (
        plot_distributions(normalized, out_dir, int(thresholds["top_tlds"])) if normalized else []
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / CHECKS_FILE).write_text(json.dumps(checks, indent=2) + "\n", encoding="utf-8")
    return DataReport(checks, plots)
