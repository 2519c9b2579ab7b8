"""`phishline report ...`: each command prints its figures and saves its report; the heavy
computations behind them are tested in model-training/tests/ml."""

from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from phishline import app

runner = CliRunner()
# The project the commands find from the working directory (pytest runs in the checkout).
PROJECT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def test_report_lists_its_commands() -> None:
    result = runner.invoke(app, ["report", "--help"])
    assert result.exit_code == 0
    for command in (
        "data", "feature-cost", "mutamorphic", "scheme", "baseline", "refit", "mutation",
        "ml-test-score",
    ):  # fmt: skip
        assert command in result.output


def write_split(path: Path, offset: int, duplicate_of: int | None = None) -> None:
    """30 URLs on their own domains, half of them phishing."""
    lines = []
    for i in range(30):
        site = duplicate_of * 30 + i if duplicate_of is not None else offset * 30 + i
        label = "phishing" if i % 2 else "legitimate"
        lines.append(f"{label}\thttp://site{site}.com/page/{i % 7}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def test_report_data_saves_the_plots_and_fails_on_a_leak(tmp_path: Path) -> None:
    for offset, name in enumerate(("train", "val", "test")):
        write_split(tmp_path / "prepared" / f"{name}.txt", offset)
    result = runner.invoke(
        app,
        [
            "report",
            "data",
            "--prepared",
            str(tmp_path / "prepared"),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "leakage: ok" in result.output
    assert "url_length" in result.output
    assert (tmp_path / "out" / "url_length.png").read_bytes().startswith(PNG)
    write_split(tmp_path / "prepared" / "test.txt", 2, duplicate_of=0)  # test = train's sites
    result = runner.invoke(
        app,
        [
            "report",
            "data",
            "--prepared",
            str(tmp_path / "prepared"),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 1
    assert "leakage: 60 problems" in result.output


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="model-training.tests.ml.model.test_quality" name="test_models_are_numerically_stable[gbm]"/>
<testcase classname="model-training.tests.ml.model.test_quality" name="test_a_model_with_a_non_finite_weight_is_caught"/>
</testsuite></testsuites>
"""


def test_report_ml_test_score_from_a_junit_file(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT)
    out = tmp_path / "score.md"
    result = runner.invoke(
        app, ["report", "ml-test-score", "--junit", str(tmp_path / "junit.xml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Models are numerically stable" in result.output
    assert "Monitoring: 1/7" in result.output
    assert "ML Test Score: 0" in result.output
    assert "### Monitor 5. Models are numerically stable: passed, 1 point" in out.read_text()


class FakeModel:
    """Scores URLs by their length, which the rewrites change."""

    name = "fake"
    threshold = 0.5

    def predict_proba(self, urls: list[str], **_options: Any) -> Any:
        return np.array([(len(u) % 10) / 10 for u in urls], dtype=np.float64)


def test_report_mutamorphic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lib_ml

    loaded: list[Path] = []

    def load(directory: Path) -> FakeModel:
        loaded.append(Path(directory))
        return FakeModel()

    monkeypatch.setattr(lib_ml.Predictor, "load", staticmethod(load))
    (tmp_path / "model.json").write_text("{}")  # what --model-dir is checked for at once
    (tmp_path / "urls.txt").write_text(
        "phishing\thttp://a.com/x/y?b=1&c=2\nlegitimate\thttps://b.org/\n"
        "legitimate\thttps://c.net/left/out\n"  # past --limit
    )
    result = runner.invoke(
        app,
        [
            "report",
            "mutamorphic",
            "--model-dir",
            str(tmp_path),
            "--data",
            str(tmp_path / "urls.txt"),
            "--limit",
            "2",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert loaded == [tmp_path]
    assert "query_order" in result.output
    assert (
        (tmp_path / "out" / "mutamorphic.md")
        .read_text()
        .startswith("# Mutamorphic test: fake on 2 URLs")
    )


def test_report_feature_cost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from model_training import feature_cost

    cost = feature_cost.GroupCost(
        "ngram",
        "linear",
        12.5,
        3.0,
        1.0,
        0.5,
        {"f1": 0.9, "roc_auc": 0.95, "log_loss": 0.2},
        0.0123,
    )
    seen: list[tuple[Path, int | None]] = []

    def fake_report(root: Path, limit: int | None = None) -> tuple[list[Any], list[Path]]:
        seen.append((root, limit))
        return [cost], [tmp_path / "feature_cost.md"]

    monkeypatch.setattr(feature_cost, "feature_cost_report", fake_report)
    result = runner.invoke(app, ["report", "feature-cost", "--limit", "300"])
    assert result.exit_code == 0, result.output
    assert seen == [(PROJECT, 300)]
    assert "+0.0123" in result.output
    assert "feature_cost.md" in result.output


def invoke_with_fake_report(
    monkeypatch: pytest.MonkeyPatch,
    module: ModuleType,
    command: str,
    report: dict[str, Any],
    saved: Path,
) -> tuple[Result, list[tuple[Path | None, Path]]]:
    """`phishline report <command> --model-dir <saved's directory>`, with the module's report
    function (named as the module) answering `report` and `saved`; also the model dirs and
    project roots it got."""
    seen: list[tuple[Path | None, Path]] = []

    def fake_report(model_dir: Path | None, root: Path) -> tuple[dict[str, Any], Path]:
        seen.append((model_dir, root))
        return report, saved

    monkeypatch.setattr(module, module.__name__.rsplit(".", 1)[-1], fake_report)
    (saved.parent / "model.json").write_text("{}")  # what --model-dir is checked for at once
    result = runner.invoke(app, ["report", command, "--model-dir", str(saved.parent)])
    return result, seen


@pytest.mark.parametrize("command", ["mutamorphic", "scheme", "baseline"])
@pytest.mark.parametrize(
    ("model_dir", "says"),
    [("", "is not a model artifact: it holds no model.json"), ("absent", "does not exist")],
)
def test_a_model_dir_without_an_artifact_is_refused_at_once(
    command: str, model_dir: str, says: str, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["report", command, "--model-dir", str(tmp_path / model_dir)])
    assert result.exit_code == 2
    assert says in " ".join(result.output.replace("│", " ").split())


def test_report_scheme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from model_training import scheme_shortcut

    outcome = {"roc_auc": 0.9876, "recall": 0.9, "false_positive_rate": 0.05}
    report = {
        "term": {"https_weight": -2.5, "logit_weight": 1.0, "bias": 0.1, "threshold": 0.6},
        "sets": {
            "test": {
                "as is": {
                    "model": outcome, "model with scheme": outcome, "urls": 10,
                    "https_share": {"legitimate": 0.4, "phishing": 0.025},
                },
                "phishing on https": {
                    "model": outcome, "model with scheme": outcome, "urls": 10,
                    "https_share": {"legitimate": 0.4, "phishing": 1.0},
                },
            }
        },
    }  # fmt: skip
    result, seen = invoke_with_fake_report(
        monkeypatch, scheme_shortcut, "scheme", report, tmp_path / "scheme.json"
    )
    assert result.exit_code == 0, result.output
    assert seen == [(tmp_path, PROJECT)]
    assert "https weight -2.50" in result.output
    assert "test: https in 40.0% of legitimate and 2.5% of phishing URLs" in result.output
    assert "0.9876" in result.output
    assert "scheme.json" in result.output


def test_report_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from model_training import reference_baseline

    row = {"roc_auc": 0.9771, "f1": 0.9123, "precision": 0.9, "recall": 0.925}
    report = {
        "baseline": {"ngram_range": [1, 5], "c_grid": [1.0, 10.0]},
        "scorers": {
            "baseline (as written)": {"C": 10.0, "threshold": 0.41, "sets": {"dl-sample": row}},
            "model ensemble": {"version": "1.0.0", "threshold": 0.53, "sets": {"test": row}},
        },
    }
    result, seen = invoke_with_fake_report(
        monkeypatch, reference_baseline, "baseline", report, tmp_path / "baseline.json"
    )
    assert result.exit_code == 0, result.output
    assert seen == [(tmp_path, PROJECT)]
    for figure in ("0.9771", "0.9123", "0.410", "0.530", "dl-sample", "baseline.json"):
        assert figure in result.output


def test_report_refit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from model_training import refit_check

    seen: list[list[int]] = []

    def fake_report(seeds: list[int], root: Path) -> tuple[list[dict[str, Any]], Path]:
        assert root == PROJECT
        seen.append(seeds)
        metrics = {"log_loss": 0.04824, "roc_auc": 0.99835, "f1": 0.97822}
        refitted = {"log_loss": 0.04408, "roc_auc": 0.99868, "f1": 0.97836}
        row = {"seed": 7, "family": "ensemble", "rows": [31370, 6853]}
        return [{**row, "chosen": metrics, "refitted": refitted}], tmp_path / "refit.json"

    monkeypatch.setattr(refit_check, "refit_report", fake_report)
    result = runner.invoke(app, ["report", "refit", "--seed", "7", "--seed", "8"])
    assert result.exit_code == 0, result.output
    assert seen == [[7, 8]]
    for figure in ("0.04824", "0.04408", "31370/6853", "refitted", "refit.json"):
        assert figure in result.output
    runner.invoke(app, ["report", "refit"])
    assert seen[-1] == [1, 2, 3]


def test_report_mutation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from model_training import mutation

    def fake_report(root: Path, max_children: int = 2) -> Path:
        assert root == PROJECT
        path = tmp_path / "mutation.md"
        path.write_text(
            mutation.render_markdown({("lib_ml.urls", "f"): Counter(killed=3, survived=1)})
        )
        assert max_children == 4
        return path

    monkeypatch.setattr(mutation, "mutation_report", fake_report)
    result = runner.invoke(app, ["report", "mutation", "--max-children", "4"])
    assert result.exit_code == 0, result.output
    assert "Mutation score: 75.0%" in result.output
