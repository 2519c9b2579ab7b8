"""`phishline bench predictor` prints and saves what the benchmark measured (the benchmark
itself: model-service/tests/test_bench.py)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model_service.bench import predictor
from phishline import app

runner = CliRunner()

MEASURED = {
    "models": {
        "ensemble": {
            "explain_top_k_0": {
                "ms_per_call": {"1": 0.36, "16": 1.58},
                "fitted_ms_per_call": 0.33,
                "fitted_ms_per_url": 0.0781,
            },
        },
    },
    "settings": {"model_dir": "models", "batch_sizes": [1, 16], "urls_per_size": 16, "repeats": 5},
}


def test_bench_predictor_prints_each_case_and_saves_the_figures(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    models = tmp_path / "models" / "ensemble"
    models.mkdir(parents=True)
    (models / "model.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    asked = {}

    def measure(model_dir: Path, repeats: int) -> dict[str, object]:
        asked.update(model_dir=model_dir, repeats=repeats)
        return MEASURED

    monkeypatch.setattr(predictor, "run_predictor_bench", measure)
    result = runner.invoke(app, ["bench", "predictor", "--repeats", "2"])
    assert result.exit_code == 0, result.output
    assert asked == {"model_dir": Path("models"), "repeats": 2}
    row = next(line for line in result.output.splitlines() if "ensemble" in line)
    # model, top k, ms per call at 1 and 16 URLs, fitted ms per call, fitted µs per URL
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "ensemble", "0", "0.36", "1.58", "0.33", "78"
    ]  # fmt: skip
    saved = tmp_path / "reports" / "bench" / "predictor.json"
    assert json.loads(saved.read_text()) == MEASURED


def test_bench_predictor_refuses_a_directory_without_models(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "predictor", "--model-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "no model artifacts" in result.output


def test_bench_train_prints_each_size_and_saves_the_figures(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from model_training import bench as training_bench  # the module the command imports

    measured = [
        {"urls": 1000, "seconds": 0.5, "peak_rss_mib": 201.4, "us_per_url": 500.0},
        {"urls": 5000, "seconds": 2.31, "peak_rss_mib": 250.6, "us_per_url": 462.0},
    ]
    asked = []

    def run_bench(sizes: tuple[int, ...], root: Path) -> list[dict[str, float]]:
        asked.append((sizes, root))
        return measured

    monkeypatch.setattr(training_bench, "run_bench", run_bench)
    (tmp_path / "params.yaml").write_text("{}\n")  # a project: the bench reads its params
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["bench", "train", "--sizes", "1000,5000"])
    assert result.exit_code == 0, result.output
    assert asked == [((1000, 5000), tmp_path.resolve())]
    rows = [line for line in result.output.splitlines() if "000 " in line]
    assert [[cell.strip() for cell in row.split("│")[1:-1]] for row in rows] == [
        ["1,000", "0.5", "500.0", "201"],
        ["5,000", "2.3", "462.0", "251"],
    ]
    saved = tmp_path / "reports" / "bench" / "train.json"
    assert json.loads(saved.read_text()) == measured
