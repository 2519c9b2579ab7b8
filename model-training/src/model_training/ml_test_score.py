"""The ML Test Score (Breck et al., "The ML Test Score: A Rubric for ML Production Readiness
and Technical Debt Reduction", IEEE Big Data 2017) of this repository, computed from tests.

The rubric has 28 tests in four sections. Each item here names the pytest tests that cover
it (a file, a test, or a test in a class) or says why nothing does. An item scores 1 point
when all its tests ran and passed; as the paper's half point for a manual test needs a
person's record, an item without passing automated tests scores 0. A section's score is the
sum of its items, and the ML Test Score is the lowest section score.
"""

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from model_training.ml_test_catalogue import ITEMS, SECTIONS, Item

REPORT = Path("reports") / "ml_test_score.md"
PASSED, FAILED, SKIPPED, MISSING, NOT_COVERED = (
    "passed", "failed", "skipped", "not run", "not covered",
)  # fmt: skip


@dataclass(frozen=True)
class Outcomes:
    """What a pytest run reported: outcome per test id (`path::name[param]`) and the figures
    the tests recorded (`record_testsuite_property`)."""

    tests: dict[str, str]
    figures: dict[str, str]


def junit_test_id(classname: str, name: str) -> str:
    """pytest writes `path.to.test_module.Class` and `test[param]`; back to a node id."""
    parts = classname.split(".")
    module_end = next(
        (i for i in range(len(parts), 0, -1) if parts[i - 1].startswith("test")), len(parts)
    )
    path = "/".join(parts[:module_end]) + ".py"
    return "::".join([path, *parts[module_end:], name])


def read_junit(path: Path) -> Outcomes:
    root = ET.parse(path).getroot()  # noqa: S314 (a file pytest wrote)
    tests: dict[str, str] = {}
    for case in root.iter("testcase"):
        outcome = PASSED
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = FAILED
        elif case.find("skipped") is not None:
            outcome = SKIPPED
        test_id = junit_test_id(case.get("classname", ""), case.get("name", ""))
        # A test that errors in teardown appears twice: the worst outcome stands.
        if tests.get(test_id) != FAILED:
            tests[test_id] = outcome
    figures = {
        prop.get("name", ""): prop.get("value", "")
        for suite in root.iter("testsuite")
        for prop in suite.findall("properties/property")
        # Hypothesis' pytest plugin records its statistics here too, base64-encoded.
        if not prop.get("name", "").startswith("hypothesis-statistics-")
    }
    return Outcomes(tests, figures)


def matches(reference: str, test_id: str) -> bool:
    """Whether a catalogue reference (a file, `file::test`, `file::Class::test`) names the
    test `test_id` (parametrized variants included)."""
    plain = test_id.split("[", 1)[0]
    return plain == reference or plain.startswith(reference + "::")


def item_status(item: Item, outcomes: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The item's status and the outcome of each of its references."""
    if not item.tests:
        return NOT_COVERED, {}
    per_reference = {}
    for reference in item.tests:
        found = [outcome for test_id, outcome in outcomes.items() if matches(reference, test_id)]
        if not found:
            per_reference[reference] = MISSING
        elif FAILED in found:
            per_reference[reference] = FAILED
        elif SKIPPED in found:
            per_reference[reference] = SKIPPED
        else:
            per_reference[reference] = PASSED
    for status in (FAILED, MISSING, SKIPPED):
        if status in per_reference.values():
            return status, per_reference
    return PASSED, per_reference


@dataclass(frozen=True)
class Scorecard:
    statuses: dict[str, tuple[str, dict[str, str]]]  # item key -> status, per reference
    figures: dict[str, str]

    def points(self, item: Item) -> int:
        return int(self.statuses[item.key][0] == PASSED)

    def section_points(self) -> dict[str, int]:
        return {
            section: sum(self.points(i) for i in ITEMS if i.section == section)
            for section in SECTIONS
        }

    @property
    def score(self) -> int:
        return min(self.section_points().values())


def scorecard(outcomes: Outcomes) -> Scorecard:
    return Scorecard(
        {item.key: item_status(item, outcomes.tests) for item in ITEMS}, outcomes.figures
    )


def referenced_tests(items: Iterable[Item] = ITEMS) -> list[str]:
    return sorted({reference for item in items for reference in item.tests})


def run_tests(root: Path, junit: Path, references: Iterable[str]) -> Outcomes:
    """Run the referenced tests with pytest (whatever their outcome) and read the results.
    References whose file is absent are left to show as not run."""
    present = [r for r in references if (root / r.split("::", 1)[0]).is_file()]
    junit.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 (this interpreter's pytest, fixed arguments)
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--junitxml={junit}", *present],
        cwd=root, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    if not junit.is_file():
        raise RuntimeError(f"pytest wrote no results to {junit}")
    return read_junit(junit)


SCORE_MEANING = (
    (0, "more of a research project than a productionized system"),
    (1, "not totally untested, but it is worth considering the possibility of serious holes "
        "in reliability"),
    (2, "there's been first pass at basic productionization, but additional investment may "
        "be needed"),
    (3, "reasonably tested, but it's possible that more of those tests and procedures may be "
        "automated"),
    (5, "strong levels of automated testing and monitoring, appropriate for mission-critical "
        "systems"),
    (6, "exceptional levels of automated testing and monitoring"),
)  # fmt: skip


def meaning(score: int) -> str:
    return next(text for floor, text in reversed(SCORE_MEANING) if score >= floor)


def render_markdown(card: Scorecard) -> str:
    points = card.section_points()
    lines = [
        "# ML Test Score",
        "",
        "The rubric of Breck et al., *The ML Test Score: A Rubric for ML Production Readiness "
        "and Technical Debt Reduction* (IEEE Big Data 2017): 28 tests in four sections. An "
        "item scores 1 point when every test that covers it passed; a section scores the sum "
        "of its items, and the ML Test Score is the lowest section score.",
        "",
        "Written by `phishline report ml-test-score` from a pytest run of the tests named "
        "below (the mapping lives in `model_training.ml_test_catalogue`).",
        "",
        "| section | points |",
        "|---|---:|",
    ]
    lines += [f"| {section} | {points[section]} / 7 |" for section in SECTIONS]
    lines += [
        "",
        f"**ML Test Score: {card.score}**: {meaning(card.score)} (the paper's words).",
        "",
    ]
    for section in SECTIONS:
        lines += [f"## {section}", ""]
        for item in (i for i in ITEMS if i.section == section):
            status, per_reference = card.statuses[item.key]
            lines += [
                f"### {item.key}. {item.title}: {status}, {card.points(item)} point"
                + ("" if card.points(item) == 1 else "s"),
                "",
                item.note,
                "",
            ]
            lines += [f"- `{ref}`: {outcome}" for ref, outcome in per_reference.items()]
            if per_reference:
                lines.append("")
    if card.figures:
        lines += ["## Figures the tests measured", ""]
        lines += [f"- {name}: {value}" for name, value in sorted(card.figures.items())]
        lines.append("")
    return "\n".join(lines)


def ml_test_score(root: Path, junit: Path | None = None, out: Path | None = None) -> Scorecard:
    """Score from an existing junit file, or run the referenced tests first; write the report."""
    if junit is None:
        junit = root / "build" / "ml-test-score" / "junit.xml"
        outcomes = run_tests(root, junit, referenced_tests())
    else:
        outcomes = read_junit(junit)
    card = scorecard(outcomes)
    out = out or root / REPORT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(card), encoding="utf-8")
    return card
