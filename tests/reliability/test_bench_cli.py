"""`phishline bench e2e` and `phishline bench serve`, run briefly: every figure, table and plot."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phishline import app

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n"


def test_bench_e2e_writes_figures_table_and_plots(
    trained_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # reports/bench/ of the working directory
    result = runner.invoke(
        app,
        ["bench", "e2e", "--model-dir", str(trained_models), "--concurrency", "1,2",
         "--seconds", "0.3", "--soak", "--soak-seconds", "1.5", "--log-level", "warning"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    reports = tmp_path / "reports" / "bench"
    figures = json.loads((reports / "e2e.json").read_text(encoding="utf-8"))
    rows = [(row["target"], row["concurrency"]) for row in figures["sweep"]]
    assert rows == [("app", 1), ("app", 2), ("model-service", 1), ("model-service", 2)]
    for row in figures["sweep"]:
        assert row["errors"] == 0, row
        assert row["requests_per_s"] > 0
        assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"] <= row["max_ms"]
        assert set(row["server_cpu_ms_per_request"]) == {"app", "model-service"}
    # Through the app costs the app's own work on top of model-service's.
    assert all(r["server_cpu_ms_per_request"]["app"] > 0 for r in figures["sweep"][:2])
    sustained = figures["sustained"]
    assert sustained["seconds"] == 1.5  # --soak replaced the default 10 s
    assert sustained["target_rate_per_s"] == pytest.approx(
        0.8 * figures["max_requests_per_s"]["app"], abs=0.1
    )
    assert sustained["errors"] == 0
    assert len(sustained["rss_samples_mib"]) >= 2
    assert len(figures["conditions"]["load_average_before"]) == 3
    table = (reports / "e2e.md").read_text(encoding="utf-8")
    assert table.count("| through the app |") == 2
    assert table.count("| model-service alone |") == 2
    for plot in ("e2e-throughput.png", "e2e-latency.png", "e2e-sustained.png"):
        assert (reports / plot).read_bytes().startswith(PNG)
        assert f"]({plot})" in table


def test_bench_serve_writes_the_model_service_figures(
    trained_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app,
        ["bench", "serve", "--model-dir", str(trained_models), "--seconds", "0.1",
         "--connections", "2", "--batch-size", "20", "--log-level", "warning"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "bare JSON" in result.output
    assert "URLs/s" in result.output
    figures = json.loads((tmp_path / "reports" / "bench" / "serve.json").read_text("utf-8"))
    assert figures["single_predict"]["failures"] == 0
    assert figures["settings"]["batch_size"] == 20


@pytest.mark.parametrize("command", ["e2e", "serve"])
def test_bench_refuses_a_directory_without_models(tmp_path: Path, command: str) -> None:
    result = runner.invoke(app, ["bench", command, "--model-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "no model artifacts" in result.output
