"""Flagger's decision, interval by interval, on recorded series.

Flagger's scheduler does this at each analysis interval (pkg/controller/scheduler.go):
1. when the failed checks have reached the threshold, roll back;
2. on the first interval (no traffic on the canary yet) run the pre-rollout webhooks (here:
   the acceptance test); later ones run the metric checks; a failure counts one failed
   check (failures add up, they are never reset during an analysis) and the canary does
   not advance;
3. progressive: below max_weight, add step_weight to the canary's traffic; at or above it,
   promote. Blue/green: count one more iteration until `iterations`, then promote.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from phishline.canary.analysis import Analysis
from phishline.canary.series import Interval


class Decision(StrEnum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled back"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Step:
    """One interval: the canary's weight (or iteration) after it and what happened."""

    number: int
    weight: int
    iteration: int
    failed_checks: int
    event: str


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    step: int  # the interval at which Flagger decides (one past the series when undecided)
    steps: tuple[Step, ...]


def _failures(analysis: Analysis, interval: Interval, first: bool) -> list[str]:
    if first:
        return [] if interval.acceptance_passed else ["acceptance test failed"]
    return [
        check.describe(interval.values[check.name])
        for check in analysis.checks
        if not check.passes(interval.values[check.name])
    ]


def replay(analysis: Analysis, intervals: Sequence[Interval]) -> Outcome:
    """Where Flagger would promote or roll back the canary on these intervals."""
    weight = iteration = failed = 0
    steps: list[Step] = []
    for number, interval in enumerate(intervals, start=1):
        if failed >= analysis.threshold:
            steps.append(Step(number, 0, iteration, failed, "rolled back"))
            return Outcome(Decision.ROLLED_BACK, number, tuple(steps))
        first = weight == 0 and iteration == 0
        failures = _failures(analysis, interval, first)
        checked = "acceptance test passed, " if first else "checks passed, "
        if failures:
            failed += 1
            event = f"halted ({failed}/{analysis.threshold} failed): " + "; ".join(failures)
        elif analysis.blue_green and iteration < analysis.iterations:
            iteration += 1
            event = f"{checked}iteration {iteration}/{analysis.iterations}"
        elif not analysis.blue_green and weight < analysis.max_weight:
            weight = min(weight + analysis.step_weight, 100)
            event = f"{checked}weight {weight} %"
        else:
            steps.append(Step(number, weight, iteration, failed, "checks passed, promoted"))
            return Outcome(Decision.PROMOTED, number, tuple(steps))
        steps.append(Step(number, weight, iteration, failed, event))
    after = len(intervals) + 1
    if failed >= analysis.threshold:
        steps.append(Step(after, 0, iteration, failed, "rolled back"))
        return Outcome(Decision.ROLLED_BACK, after, tuple(steps))
    return Outcome(Decision.UNDECIDED, after, tuple(steps))
