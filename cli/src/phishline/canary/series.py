"""Recorded metric series: a CSV with one row per analysis interval and one column per
check of the analysis (the check's name); an empty cell is an interval without data.
An optional `acceptance-test` column (pass/fail, 1/0, true/false) gives the pre-rollout
acceptance test's result; without it the test passes."""

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from phishline.canary.analysis import Analysis

ACCEPTANCE = "acceptance-test"
_TRUE = {"pass", "1", "true", "yes"}
_FALSE = {"fail", "0", "false", "no"}


class SeriesError(ValueError):
    """The series file cannot be replayed against the analysis."""


@dataclass(frozen=True)
class Interval:
    """What the checks measured during one analysis interval."""

    values: dict[str, float | None]
    acceptance_passed: bool = True


def _number(text: str, where: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise SeriesError(f"{where}: {text!r} is not a number") from exc
    return None if math.isnan(value) else value


def _verdict(text: str, where: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE or not word:
        return True
    if word in _FALSE:
        return False
    raise SeriesError(f"{where}: {text!r} is not pass or fail")


def read_series(path: Path, analysis: Analysis) -> list[Interval]:
    """The intervals of the file, checked against the analysis' check names."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = set(reader.fieldnames or ())
    names = {check.name for check in analysis.checks}
    if missing := sorted(names - columns):
        raise SeriesError(f"{path}: no column for the checks {', '.join(missing)}")
    intervals = []
    for number, row in enumerate(rows, start=2):
        where = f"{path}:{number}"
        intervals.append(
            Interval(
                values={name: _number(row[name] or "", f"{where} {name}") for name in names},
                acceptance_passed=_verdict(row.get(ACCEPTANCE) or "", f"{where} {ACCEPTANCE}"),
            )
        )
    if not intervals:
        raise SeriesError(f"{path}: no rows")
    return intervals
