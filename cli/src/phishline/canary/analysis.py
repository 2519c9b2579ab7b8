"""The analysis a Canary runs, read from the Helm chart's values (`canary.<target>.analysis`),
the same values the chart renders into its Flagger Canary objects."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Target = Literal["model-service", "app"]
# Where each target's analysis lives in the chart's values.
VALUES_KEYS: dict[Target, str] = {"model-service": "modelService", "app": "app"}


@dataclass(frozen=True)
class Check:
    """One metric check: passes while the value is within [minimum, maximum]."""

    name: str
    minimum: float | None = None
    maximum: float | None = None

    def passes(self, value: float | None) -> bool:
        """Flagger fails a check that finds no value, as it fails one out of range."""
        if value is None or math.isnan(value):
            return False
        if self.minimum is not None and value < self.minimum:
            return False
        return self.maximum is None or value <= self.maximum

    def describe(self, value: float | None) -> str:
        if value is None or math.isnan(value):
            return f"{self.name}: no value"
        bound = self.minimum if self.minimum is not None and value < self.minimum else self.maximum
        relation = "<" if self.minimum is not None and value < self.minimum else ">"
        return f"{self.name} {value:g} {relation} {bound:g}"


@dataclass(frozen=True)
class Analysis:
    """Flagger's schedule: progressive (step_weight up to max_weight) or blue/green
    (iterations); threshold failed checks in total roll the canary back."""

    interval: str
    threshold: int
    checks: tuple[Check, ...]
    step_weight: int = 0
    max_weight: int = 0
    iterations: int = 0

    @property
    def blue_green(self) -> bool:
        return self.iterations > 0


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of values files: maps merge key by key, null removes the key, anything
    else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def _bound(limits: Mapping[str, Any], key: str) -> float | None:
    value = limits.get(key)
    return None if value is None else float(value)


def analysis_from_values(values: Mapping[str, Any], target: Target) -> Analysis:
    """The analysis of `target` as the chart's values define it."""
    try:
        spec = values["canary"][VALUES_KEYS[target]]["analysis"]
        checks = tuple(
            Check(m["name"], _bound(m["thresholdRange"], "min"), _bound(m["thresholdRange"], "max"))
            for m in spec["metrics"]
        )
        return Analysis(
            interval=str(spec["interval"]),
            threshold=int(spec["threshold"]),
            checks=checks,
            step_weight=int(spec.get("stepWeight", 0)),
            max_weight=int(spec.get("maxWeight", 0)),
            iterations=int(spec.get("iterations", 0)),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"the values hold no canary analysis for {target}: {exc}") from exc
