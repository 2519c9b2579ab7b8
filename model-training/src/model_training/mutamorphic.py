"""Mutamorphic testing: how a model's verdicts change under the semantics-preserving URL
rewrites of `lib_ml.mutants`, with and without the prediction-time repair.

The oracle: per rewrite, the share of URLs whose label flips and the largest change of
P(phishing) stay under thresholds (params.yaml, `tests: mutamorphic:`).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lib_ml import Predictor
from lib_ml.mutants import REWRITES, follow_ups


@dataclass(frozen=True)
class RewriteOutcome:
    rewrite: str
    urls: int  # URLs the rewrite changes
    flips: int  # of which the label changes
    max_change: float  # largest |P(phishing) of the mutant - of the original|

    @property
    def flip_rate(self) -> float:
        return self.flips / self.urls if self.urls else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"flip_rate": self.flip_rate}


def rewrite_outcomes(
    predictor: Predictor, urls: Sequence[str], repair: bool = False
) -> list[RewriteOutcome]:
    """Each URL against each of its follow-ups, in two batches (originals, all mutants)."""
    originals = predictor.predict_proba(urls, repair=repair)
    pairs = [(i, name, m) for i, url in enumerate(urls) for name, m in follow_ups(url).items()]
    mutated = predictor.predict_proba([m for _, _, m in pairs], repair=repair)
    index = np.array([i for i, _, _ in pairs], dtype=np.int64)
    names = np.array([name for _, name, _ in pairs])
    flipped = (mutated >= predictor.threshold) != (originals[index] >= predictor.threshold)
    change = np.abs(mutated - originals[index])
    outcomes = []
    for name in REWRITES:
        members = names == name
        outcomes.append(
            RewriteOutcome(
                rewrite=name,
                urls=int(members.sum()),
                flips=int(flipped[members].sum()),
                max_change=float(change[members].max()) if members.any() else 0.0,
            )
        )
    return outcomes


def oracle_violations(
    outcomes: Sequence[RewriteOutcome], max_flip_rate: float, max_change: float
) -> list[str]:
    """What breaks the thresholds, one line per rewrite and threshold."""
    problems = []
    for outcome in outcomes:
        if outcome.flip_rate > max_flip_rate:
            problems.append(
                f"{outcome.rewrite}: {outcome.flip_rate:.1%} of {outcome.urls} URLs flip "
                f"(at most {max_flip_rate:.1%})"
            )
        if outcome.max_change > max_change:
            problems.append(
                f"{outcome.rewrite}: P(phishing) changes by up to {outcome.max_change:.3f} "
                f"(at most {max_change})"
            )
    return problems


def mutamorphic_report(predictor: Predictor, urls: Sequence[str]) -> dict[str, Any]:
    """Flip rates and largest changes per rewrite, before and with repair."""
    return {
        "model": predictor.name,
        "urls": len(urls),
        "plain": [o.to_dict() for o in rewrite_outcomes(predictor, urls)],
        "repaired": [o.to_dict() for o in rewrite_outcomes(predictor, urls, repair=True)],
    }


def render_markdown(report: Mapping[str, Any]) -> str:
    lines = [
        f"# Mutamorphic test: {report['model']} on {report['urls']} URLs",
        "",
        "| rewrite | URLs changed | flip rate | largest change | flip rate, repaired "
        "| largest change, repaired |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for plain, repaired in zip(report["plain"], report["repaired"], strict=True):
        lines.append(
            f"| {plain['rewrite']} | {plain['urls']} | {plain['flip_rate']:.2%} "
            f"| {plain['max_change']:.3f} | {repaired['flip_rate']:.2%} "
            f"| {repaired['max_change']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def write_report(report: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """reports/mutamorphic.json and .md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "mutamorphic.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    markdown = out_dir / "mutamorphic.md"
    markdown.write_text(render_markdown(report), encoding="utf-8")
    return [json_path, markdown]
