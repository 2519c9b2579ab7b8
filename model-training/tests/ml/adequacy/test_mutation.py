"""`make mutation`: the mutmut workspace, the parsing of its results and the report."""

from collections import Counter
from pathlib import Path

import pytest

from model_training import mutation
from model_training.mutation import (
    SETUP_CFG,
    mutation_report,
    mutation_score,
    parse_results,
    prepare_workspace,
    readable,
    render_markdown,
)

RESULTS = """    lib_ml.urls.x_normalize_url__mutmut_1: killed
    lib_ml.urls.x_normalize_url__mutmut_2: survived
    lib_ml.urls.x_normalize_url__mutmut_3: timeout
    lib_ml.predictor.x\u01c1Predictor\u01c1predict__mutmut_1: killed
    lib_ml.predictor.x\u01c1Predictor\u01c1predict__mutmut_2: no tests
    lib_ml.labels.x_encode_label__mutmut_1: skipped
some other line mutmut prints
"""


def fake_lib_ml(root: Path) -> Path:
    (root / "lib-ml" / "src" / "lib_ml").mkdir(parents=True)
    (root / "lib-ml" / "src" / "lib_ml" / "__init__.py").write_text("VALUE = 1\n")
    (root / "lib-ml" / "tests" / ".hypothesis").mkdir(parents=True)
    (root / "lib-ml" / "tests" / "test_value.py").write_text("def test_value():\n    assert True\n")
    (root / "lib-ml" / "README.md").write_text("# lib-ml\n")  # a test runs its example
    return root


def test_the_workspace_holds_a_fresh_copy_and_the_configuration(tmp_path: Path) -> None:
    root = fake_lib_ml(tmp_path)
    (root / "build" / "mutation" / "mutants").mkdir(parents=True)  # an earlier run
    workspace = prepare_workspace(root)
    assert workspace == root / "build" / "mutation"
    assert sorted(p.name for p in workspace.iterdir()) == ["README.md", "setup.cfg", "src", "tests"]
    assert (workspace / "src" / "lib_ml" / "__init__.py").read_text() == "VALUE = 1\n"
    assert (workspace / "README.md").read_text() == "# lib-ml\n"
    assert not (workspace / "tests" / ".hypothesis").exists()
    assert (workspace / "setup.cfg").read_text() == SETUP_CFG


def test_mutmut_reads_each_pytest_argument_and_forks_from_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reader mutmut itself uses (private, and mutmut's version is locked).
    from mutmut.configuration import ProcessIsolation, _load_config

    monkeypatch.chdir(prepare_workspace(fake_lib_ml(tmp_path)))
    config = _load_config()
    assert config.pytest_add_cli_args == ["--hypothesis-seed=0", "-p", "no:cacheprovider"]
    assert config.process_isolation == ProcessIsolation.FORKSERVER
    assert Path("README.md") in config.also_copy


def test_mutmut_runs_in_the_workspace_and_failures_are_reported(tmp_path: Path) -> None:
    workspace = prepare_workspace(fake_lib_ml(tmp_path))
    assert "Usage" in mutation.mutmut(workspace, "--help")
    with pytest.raises(RuntimeError, match="mutmut no-such-command failed"):
        mutation.mutmut(workspace, "no-such-command")


def test_results_are_counted_per_function() -> None:
    counts = parse_results(RESULTS)
    assert counts == {
        ("lib_ml.urls", "normalize_url"): Counter(killed=1, survived=1, timeout=1),
        ("lib_ml.predictor", "Predictor.predict"): Counter({"killed": 1, "no tests": 1}),
        ("lib_ml.labels", "encode_label"): Counter(skipped=1),
    }
    assert readable("lib_ml.a.x_f") == ("lib_ml.a", "f")


def test_the_score_counts_untested_mutants_as_undetected() -> None:
    assert mutation_score(Counter(killed=2, timeout=1, survived=1)) == 0.75
    assert mutation_score(Counter({"killed": 1, "no tests": 1, "skipped": 5})) == 0.5
    assert mutation_score(Counter(skipped=3)) == 0.0


def test_the_report_lists_modules_and_survivors() -> None:
    text = render_markdown(parse_results(RESULTS))
    assert "**Mutation score: 60.0%** (6 mutants)" in text
    assert "| module | killed | no tests | skipped | survived | timeout | score |" in text
    assert "| `lib_ml.urls` | 1 | 0 | 0 | 1 | 1 | 66.7% |" in text
    assert "- `lib_ml.urls.normalize_url`: 1" in text
    assert "| `lib_ml.predictor` | 1 | 1 | 0 | 0 | 0 | 50.0% |" in text
    assert "surviving" not in render_markdown({("m", "f"): Counter(killed=1)})


def test_mutation_report_writes_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []

    def fake_mutmut(workspace: Path, *args: str) -> str:
        calls.append(args)
        return RESULTS if args[0] == "results" else ""

    monkeypatch.setattr(mutation, "mutmut", fake_mutmut)
    report = mutation_report(fake_lib_ml(tmp_path), max_children=3)
    assert report == tmp_path / "reports" / "mutation.md"
    assert report.read_text() == render_markdown(parse_results(RESULTS))
    assert calls == [("run", "--max-children", "3"), ("results", "--all", "true")]
    monkeypatch.setattr(mutation, "mutmut", lambda _workspace, *_args: "")
    with pytest.raises(RuntimeError, match="no mutants"):
        mutation_report(tmp_path)
