"""The model release gate: the model that model-service serves by default is released only
when its test-split metrics (reports/metrics/<model>.json, written by the evaluate stage)
reach every floor in params.yaml `release.min_metrics`.

`python -m model_training.release_gate` prints each check and exits 1 when one fails.
"""

import argparse
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model_training.config import Paths, load_params, project_root


class ReleaseGateError(RuntimeError):
    """The gate cannot decide: its configuration or the model's metrics are missing."""


@dataclass(frozen=True)
class Check:
    metric: str
    value: float | None  # None: the metrics file does not hold a number for it
    minimum: float

    @property
    def passed(self) -> bool:
        return self.value is not None and not math.isnan(self.value) and self.value >= self.minimum

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.metric}: missing (needs >= {self.minimum}) FAIL"
        verdict = "ok" if self.passed else "FAIL"
        return f"{self.metric}: {self.value:.4f} (needs >= {self.minimum}) {verdict}"


@dataclass(frozen=True)
class GateResult:
    model: str
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def report(self) -> str:
        verdict = "passes" if self.passed else "is REFUSED"
        lines = [f"release gate: {self.model} {verdict}"]
        return "\n".join(lines + [f"  {check}" for check in self.checks])


def check_metrics(metrics: Mapping[str, Any], minimums: Mapping[str, float]) -> list[Check]:
    checks = []
    for metric, minimum in sorted(minimums.items()):
        value = metrics.get(metric)
        number = (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
        checks.append(Check(metric, number, float(minimum)))
    return checks


# Metrics of metrics.json where lower is better (and the threshold, which is no quality): a
# floor on one of them would pass the worse models and refuse the better ones.
NOT_FLOORS = frozenset({"log_loss", "brier", "ece", "threshold"})


def gate_settings(params: Mapping[str, Any]) -> tuple[str, dict[str, float]]:
    """The gated model and its floors, from params.yaml `release`."""
    release = params.get("release") or {}
    model, minimums = release.get("model"), release.get("min_metrics")
    if not model or not minimums:
        raise ReleaseGateError(
            "params.yaml needs release.model and a non-empty release.min_metrics"
        )
    floors = {str(k): float(v) for k, v in minimums.items()}
    if wrong := sorted(NOT_FLOORS.intersection(floors)):
        raise ReleaseGateError(
            f"params.yaml release.min_metrics: {', '.join(wrong)} cannot have a floor (lower is"
            " better, or no quality at all): it would pass worse models and refuse better ones"
        )
    return str(model), floors


def evaluate_gate(root: Path | None = None) -> GateResult:
    root = root or project_root()
    model, minimums = gate_settings(load_params(root))
    path = Paths(root).metrics / f"{model}.json"
    if not path.is_file():
        raise ReleaseGateError(f"{path} is missing: run `dvc repro` (the evaluate stage) first")
    metrics = json.loads(path.read_text(encoding="utf-8"))
    return GateResult(model, check_metrics(metrics, minimums))


def main(argv: list[str] | None = None) -> None:
    # No options; parsed so that --help answers rather than running the gate.
    argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0]).parse_args(argv)
    result = evaluate_gate()
    print(result.report())
    if not result.passed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
