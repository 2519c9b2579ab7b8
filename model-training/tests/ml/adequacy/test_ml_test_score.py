"""The ML Test Score: the catalogue covers the rubric's 28 items with tests that exist, the
score follows the test outcomes, and the committed report explains every item."""

import ast
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from model_training import ml_test_score as score_module
from model_training.ml_test_catalogue import ITEMS, SECTIONS, Item
from model_training.ml_test_score import (
    FAILED,
    MISSING,
    NOT_COVERED,
    PASSED,
    SKIPPED,
    Outcomes,
    item_status,
    junit_test_id,
    matches,
    meaning,
    ml_test_score,
    read_junit,
    referenced_tests,
    render_markdown,
    run_tests,
    scorecard,
)

REPO = Path(__file__).resolve().parents[4]


def unresolved(reference: str) -> str | None:
    """Why a reference names no test in the repository (None when it does)."""
    path, *names = reference.split("::")
    file = REPO / path
    if not file.is_file():
        return f"{path} does not exist"
    scope: list[ast.stmt] = ast.parse(file.read_text(encoding="utf-8")).body
    for name in names:
        found = [
            n for n in scope if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == name
        ]
        if not found:
            return f"{name} is not defined in {path}"
        scope = found[0].body
    return None


def test_the_catalogue_has_the_rubrics_28_items() -> None:
    assert len(ITEMS) == 28
    assert Counter(item.section for item in ITEMS) == dict.fromkeys(SECTIONS, 7)
    for section in SECTIONS:
        assert [i.number for i in ITEMS if i.section == section] == list(range(1, 8))
    assert len({item.key for item in ITEMS}) == 28
    assert len({item.title for item in ITEMS}) == 28


def test_every_item_names_its_tests_or_says_why_not() -> None:
    for item in ITEMS:
        assert item.note.endswith("."), item.key
        assert len(item.note) > 60, item.key
        assert bool(item.tests) != item.note.startswith("Not covered."), item.key


def test_every_reference_names_a_test_in_the_repository() -> None:
    assert {ref: unresolved(ref) for ref in referenced_tests() if unresolved(ref)} == {}


def test_a_reference_to_nothing_is_caught() -> None:
    assert unresolved("model-training/tests/ml/data/test_schema.py::test_nothing") is not None
    assert unresolved("model-training/tests/no_such_file.py") is not None
    assert unresolved("tests/test_pylint_ml.py::TestPandas::test_missing") is not None
    assert unresolved("tests/test_pylint_ml.py::TestPandas::test_inplace") is None


@pytest.mark.parametrize(
    ("classname", "name", "expected"),
    [
        ("lib-ml.tests.test_features", "test_x", "lib-ml/tests/test_features.py::test_x"),
        ("model-training.tests.ml.data.test_schema", "test_y[a-b]",
         "model-training/tests/ml/data/test_schema.py::test_y[a-b]"),
        ("tests.test_pylint_ml.TestPandas", "test_z", "tests/test_pylint_ml.py::TestPandas::test_z"),
        ("conftest", "setup", "conftest.py::setup"),
    ],
)  # fmt: skip
def test_junit_names_become_node_ids(classname: str, name: str, expected: str) -> None:
    assert junit_test_id(classname, name) == expected


def test_references_match_files_tests_and_parameters() -> None:
    assert matches("a/test_b.py", "a/test_b.py::test_c[1]")
    assert matches("a/test_b.py::test_c", "a/test_b.py::test_c[1]")
    assert matches("a/test_b.py::C", "a/test_b.py::C::test_d")
    assert not matches("a/test_b.py::test_c", "a/test_b.py::test_cd")
    assert not matches("a/test_b.py", "a/test_bc.py::test_c")


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="5">
<properties><property name="flip rate" value="1% -> 0%"/>
<property name="hypothesis-statistics-a/test_b.py::test_c" value="c3RhdHM="/></properties>
<testcase classname="a.test_b" name="test_ok" time="0.1"/>
<testcase classname="a.test_b" name="test_bad" time="0.1"><failure message="x"/></testcase>
<testcase classname="a.test_b" name="test_bad" time="0.1"/>
<testcase classname="a.test_b" name="test_skip" time="0.1"><skipped message="no binary"/></testcase>
<testcase classname="a.test_b" name="test_teardown" time="0.1"/>
<testcase classname="a.test_b" name="test_teardown" time="0.1"><error message="t"/></testcase>
</testsuite></testsuites>
"""


def test_junit_results_are_read_with_the_figures(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT)
    outcomes = read_junit(tmp_path / "junit.xml")
    assert outcomes.tests == {
        "a/test_b.py::test_ok": PASSED, "a/test_b.py::test_bad": FAILED,
        "a/test_b.py::test_skip": SKIPPED, "a/test_b.py::test_teardown": FAILED,
    }  # fmt: skip
    assert outcomes.figures == {"flip rate": "1% -> 0%"}


def item(*tests: str) -> Item:
    return Item(SECTIONS[0], 1, "t", tests, "n.")


@pytest.mark.parametrize(
    ("tests", "expected"),
    [
        (("a/test_b.py::test_ok",), PASSED),
        (("a/test_b.py::test_ok", "a/test_b.py::test_bad"), FAILED),
        (("a/test_b.py::test_ok", "a/test_b.py::test_skip"), SKIPPED),
        (("a/test_b.py::test_ok", "a/test_b.py::test_gone"), MISSING),
        ((), NOT_COVERED),
    ],
)
def test_an_item_passes_only_when_all_its_tests_passed(
    tests: tuple[str, ...], expected: str
) -> None:
    outcomes = {
        "a/test_b.py::test_ok": PASSED,
        "a/test_b.py::test_bad": FAILED,
        "a/test_b.py::test_skip": SKIPPED,
    }
    assert item_status(item(*tests), outcomes)[0] == expected


def all_passed() -> Outcomes:
    return Outcomes(dict.fromkeys(referenced_tests(), PASSED), {"F1": "0.95"})


def test_the_score_is_the_lowest_section() -> None:
    card = scorecard(all_passed())
    covered = Counter(i.section for i in ITEMS if i.tests)
    assert card.section_points() == {section: covered[section] for section in SECTIONS}
    assert card.score == min(covered.values())
    # One failing test of a section lowers that section, and the score when it is the lowest.
    lowest = min(SECTIONS, key=lambda s: covered[s])
    victim = next(i for i in ITEMS if i.section == lowest and i.tests)
    failing = Outcomes({**all_passed().tests, victim.tests[0]: FAILED}, {})
    assert scorecard(failing).score == card.score - 1


def test_the_report_explains_every_item() -> None:
    card = scorecard(all_passed())
    text = render_markdown(card)
    for entry in ITEMS:
        assert f"### {entry.key}. {entry.title}: " in text
        assert entry.note in text
    assert f"**ML Test Score: {card.score}**" in text
    assert "- F1: 0.95" in text


def test_the_committed_report_is_up_to_date_with_the_catalogue() -> None:
    text = (REPO / "reports" / "ml_test_score.md").read_text(encoding="utf-8")
    stale = [
        entry.key
        for entry in ITEMS
        if f"{entry.key}. {entry.title}: " not in text or entry.note not in text
    ]
    assert stale == [], "run `phishline report ml-test-score` and commit reports/ml_test_score.md"


def test_meaning_follows_the_papers_bands() -> None:
    assert meaning(0).startswith("more of a research project")
    assert meaning(4).startswith("reasonably tested")
    assert meaning(9).startswith("exceptional")


def test_tests_are_run_and_absent_files_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loading every plugin takes seconds: only the one the configuration names (`timeout`).
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p pytest_timeout")
    references = [
        "lib-ml/tests/test_urls_and_labels.py::test_label_codec_is_fixed",
        "nowhere/test_x.py::test_y",
    ]
    outcomes = run_tests(REPO, tmp_path / "junit.xml", references)
    assert outcomes.tests == {references[0]: PASSED}


def test_a_run_without_results_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As when pytest cannot start (a broken configuration or environment).
    monkeypatch.setattr(score_module.subprocess, "run", lambda *_args, **_kwargs: None)
    with pytest.raises(RuntimeError, match="no results"):
        run_tests(tmp_path, tmp_path / "out" / "junit.xml", [])


def test_report_from_a_junit_file_or_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT)
    card = ml_test_score(REPO, junit=tmp_path / "junit.xml", out=tmp_path / "from-file.md")
    assert card.score == 0
    assert (tmp_path / "from-file.md").read_text().startswith("# ML Test Score")
    ran: list[Any] = []

    def run(_root: Path, _junit: Path, references: list[str]) -> Outcomes:
        ran.append(references)
        return all_passed()

    monkeypatch.setattr(score_module, "run_tests", run)
    assert ml_test_score(tmp_path).score == scorecard(all_passed()).score
    assert ran == [referenced_tests()]
    assert (tmp_path / "reports" / "ml_test_score.md").is_file()
