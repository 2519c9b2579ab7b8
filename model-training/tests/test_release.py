"""The model release: the gate on params.yaml `release.min_metrics`, and the .tar.gz asset
(artifact dirs + metrics.json + MODEL_CARD.md) that model-service loads by URL."""

import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from lib_ml import find_artifacts, read_artifact, write_artifact
from lib_ml.artifact import MANIFEST
from model_training.config import load_params
from model_training.release_bundle import ReleaseRefusedError, build_bundle
from model_training.release_bundle import main as bundle_main
from model_training.release_gate import (
    Check,
    ReleaseGateError,
    check_metrics,
    evaluate_gate,
    gate_settings,
)
from model_training.release_gate import main as gate_main

from .conftest import REPO

FLOORS = {"f1": 0.95, "roc_auc": 0.99}
GOOD = {
    "accuracy": 0.97, "precision": 0.96, "recall": 0.975, "f1": 0.97, "roc_auc": 0.997,
    "pr_auc": 0.996, "log_loss": 0.06, "brier": 0.018, "ece": 0.007, "threshold": 0.45,
    "confusion_matrix": [[10, 1], [1, 10]], "n": 22,
}  # fmt: skip


def write_model(models: Path, name: str) -> None:
    manifest = {
        "name": name, "family": name, "version": "1.0.0", "created": "2026-01-01T00:00:00+00:00",
        "training_data_sha256": hashlib.sha256(name.encode()).hexdigest(), "params": {},
        "metrics": {}, "label_map": {"legitimate": 0, "phishing": 1}, "threshold": 0.5,
        "featurizer": {}, "feature_distributions": {},
    }  # fmt: skip
    # The three ways a manifest tells what it was fitted on (gbm: made before train.refit).
    if name != "gbm":
        manifest |= {"training_rows": 46416 if name == "ensemble" else 38223,
                     "refit_on_validation": name == "ensemble"}  # fmt: skip
    write_artifact(models / name, manifest, {"weights.npz": {"w": np.arange(3.0)}})


def write_metrics(root: Path, name: str, metrics: dict[str, Any]) -> None:
    """Metrics as the evaluate stage writes them, of the model now under root/models."""
    path = root / "reports" / "metrics" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest_sha256 = hashlib.sha256((root / "models" / name / MANIFEST).read_bytes()).hexdigest()
    model = {"name": name, "version": "1.0.0", "manifest_sha256": manifest_sha256}
    path.write_text(json.dumps({"model": model, **metrics}))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose three models pass the gate; the ensemble was also tried elsewhere."""
    params = {
        "data": {"sources": [{"name": "ebbu2017", "files": []}]},
        "release": {"model": "ensemble", "min_metrics": FLOORS},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for name in ("ensemble", "gbm", "linear"):
        write_model(tmp_path / "models", name)
        external = {"other": {**GOOD, "f1": 0.89, "n": 7}} if name == "ensemble" else {}
        write_metrics(tmp_path, name, {**GOOD, "external": external})
    return tmp_path


# The gate


def test_the_repository_gates_the_ensemble_on_f1_and_roc_auc() -> None:
    assert gate_settings(load_params(REPO)) == ("ensemble", FLOORS)


def test_metrics_at_or_above_every_floor_pass() -> None:
    checks = check_metrics({"f1": 0.95, "roc_auc": 0.999}, FLOORS)
    assert [c.passed for c in checks] == [True, True]
    assert str(checks[0]) == "f1: 0.9500 (needs >= 0.95) ok"


@pytest.mark.parametrize(
    "metrics",
    [
        {"f1": 0.9499, "roc_auc": 0.999},
        {"f1": 0.97, "roc_auc": float("nan")},
        {"f1": 0.97},
        {"f1": 0.97, "roc_auc": "0.999"},
        {"f1": True, "roc_auc": 0.999},
    ],
)
def test_a_metric_below_its_floor_or_unreadable_fails(metrics: dict[str, Any]) -> None:
    assert not all(c.passed for c in check_metrics(metrics, FLOORS))


def test_a_missing_metric_says_so() -> None:
    assert str(Check("roc_auc", None, 0.99)) == "roc_auc: missing (needs >= 0.99) FAIL"


def test_gate_reads_the_evaluate_stage_metrics(project: Path) -> None:
    result = evaluate_gate(project)
    assert result.passed
    assert result.report().splitlines()[0] == "release gate: ensemble passes"


def test_gate_refuses_and_exits_1(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_metrics(project, "ensemble", {**GOOD, "f1": 0.9})
    monkeypatch.chdir(project)
    with pytest.raises(SystemExit) as exit_info:
        gate_main([])
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "release gate: ensemble is REFUSED" in out
    assert "f1: 0.9000 (needs >= 0.95) FAIL" in out


def test_gate_passes_quietly_in_a_good_project(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)
    gate_main([])
    assert "roc_auc: 0.9970 (needs >= 0.99) ok" in capsys.readouterr().out


@pytest.mark.parametrize("release", [None, {"model": "ensemble"}, {"min_metrics": FLOORS}])
def test_gate_without_configuration_cannot_decide(release: dict[str, Any] | None) -> None:
    with pytest.raises(ReleaseGateError, match=r"release\.min_metrics"):
        gate_settings({"release": release})


@pytest.mark.parametrize("metric", ["log_loss", "brier", "ece", "threshold"])
def test_gate_refuses_a_floor_where_lower_is_better(project: Path, metric: str) -> None:
    """`ece: 0.05` reads as "at most 0.05", but a floor passes every ece above it: the gate
    would release the badly calibrated model and refuse the good one."""
    with pytest.raises(ReleaseGateError, match=rf"min_metrics: {metric} cannot have a floor"):
        gate_settings({"release": {"model": "ensemble", "min_metrics": {**FLOORS, metric: 0.05}}})
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["release"]["min_metrics"][metric] = 0.05
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    write_metrics(project, "ensemble", {**GOOD, metric: 0.4})  # far worse than meant
    with pytest.raises(ReleaseGateError):
        build_bundle(project / "out.tar.gz", "v1.2.3", project)
    assert not (project / "out.tar.gz").exists()


def test_gate_without_metrics_cannot_decide(project: Path) -> None:
    (project / "reports" / "metrics" / "ensemble.json").unlink()
    with pytest.raises(ReleaseGateError, match="dvc repro"):
        evaluate_gate(project)


# The release asset


def extract(archive: Path, into: Path) -> Path:
    # The same safety filter model-service extracts with.
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(into, filter="data")
    return into


def test_bundle_holds_verifiable_artifacts_metrics_and_a_card(
    project: Path, tmp_path: Path
) -> None:
    (project / "models" / "gbm" / "notes.txt").write_text("not vouched for by model.json")
    archive = tmp_path / "out" / "phishline-models.tar.gz"
    build_bundle(archive, "v1.2.3", project)
    root = extract(archive, tmp_path / "x")
    assert [p.name for p in find_artifacts(root)] == ["ensemble", "gbm", "linear"]
    for directory in find_artifacts(root):
        read_artifact(directory)  # sha256 intact
    assert sorted(p.name for p in (root / "gbm").iterdir()) == ["model.json", "weights.npz"]
    metrics = json.loads((root / "metrics.json").read_text())
    assert set(metrics) == {"ensemble", "gbm", "linear"}
    assert metrics["ensemble"]["f1"] == GOOD["f1"]
    card = (root / "MODEL_CARD.md").read_text()
    assert card.startswith("# Model card: phishline models v1.2.3")
    assert "model-service serves `ensemble`" in card
    assert "Sources (params.yaml `data.sources`): ebbu2017." in card
    assert "| ensemble | 0.9700 | 0.9600 | 0.9750 | 0.9700 | 0.9970 |" in card
    assert "- f1: 0.9700 (needs >= 0.95) ok" in card
    assert "| ensemble | other | 7 | 0.8900 | 0.9970 |" in card
    assert "PHISHLINE_MODEL_URL" in card
    models_rows = {line.split(" | ")[0][2:]: line for line in card.split("## Models")[1]
                   .split("## Training data")[0].splitlines() if line.startswith("| ")}  # fmt: skip
    assert "| 0.5000 | train + val (46,416 URLs) |" in models_rows["ensemble"]
    assert "| 0.5000 | train (38,223 URLs) |" in models_rows["linear"]
    assert "| 0.5000 | not recorded |" in models_rows["gbm"]
    # All three were built at 2026-01-01T00:00:00+00:00.
    assert "`SOURCE_DATE_EPOCH=1767225600 dvc repro` rebuilds them" in card


def test_card_of_models_of_several_builds_says_nothing_of_rebuilding(
    project: Path, tmp_path: Path
) -> None:
    manifest = json.loads((project / "models" / "gbm" / "model.json").read_text())
    manifest["created"] = "2026-01-02T00:00:00+00:00"
    (project / "models" / "gbm" / "model.json").write_text(json.dumps(manifest))
    write_metrics(project, "gbm", GOOD)  # evaluated again, as dvc repro does
    build_bundle(tmp_path / "m.tar.gz", "v1.2.3", project)
    card = (extract(tmp_path / "m.tar.gz", tmp_path / "x") / "MODEL_CARD.md").read_text()
    assert "## Rebuilding" not in card
    assert "SOURCE_DATE_EPOCH" not in card


def test_card_shows_undefined_metrics_as_na(project: Path, tmp_path: Path) -> None:
    """Data of one class (an Ebbu file, a list of known-good sites) has no ROC AUC, and no F1
    when no URL in it is phishing or flagged."""
    legitimate_only = {**GOOD, "precision": None, "recall": None, "f1": None, "roc_auc": None}
    write_metrics(project, "ensemble", {**GOOD, "external": {"top-sites": legitimate_only}})
    build_bundle(tmp_path / "m.tar.gz", "v1.2.3", project)
    card = (extract(tmp_path / "m.tar.gz", tmp_path / "x") / "MODEL_CARD.md").read_text()
    assert "| ensemble | top-sites | 22 | n/a | n/a |" in card


def test_bundle_without_external_data_has_no_such_section(project: Path, tmp_path: Path) -> None:
    write_metrics(project, "ensemble", GOOD)
    build_bundle(tmp_path / "m.tar.gz", "v1.2.3", project)
    card = (extract(tmp_path / "m.tar.gz", tmp_path / "x") / "MODEL_CARD.md").read_text()
    assert "## Other data" not in card
    assert "## Limitations" in card


def test_bundle_is_byte_reproducible(project: Path, tmp_path: Path) -> None:
    build_bundle(tmp_path / "a.tar.gz", "v1.2.3", project)
    os.utime(project / "models" / "linear" / "model.json", (1, 1))
    build_bundle(tmp_path / "b.tar.gz", "v1.2.3", project)
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()


def test_bundle_refuses_models_the_gate_refuses(project: Path, tmp_path: Path) -> None:
    write_metrics(project, "ensemble", {**GOOD, "roc_auc": 0.98})
    with pytest.raises(ReleaseRefusedError, match=r"roc_auc: 0\.9800"):
        build_bundle(tmp_path / "m.tar.gz", "v1.2.3", project)
    assert not (tmp_path / "m.tar.gz").exists()


def test_bundle_refuses_a_tampered_artifact(project: Path, tmp_path: Path) -> None:
    (project / "models" / "linear" / "weights.npz").write_bytes(b"changed")
    with pytest.raises(ReleaseRefusedError, match="sha256"):
        build_bundle(tmp_path / "m.tar.gz", "v1.2.3", project)


def test_bundle_refuses_an_artifact_without_its_manifest(project: Path, tmp_path: Path) -> None:
    (project / "models" / "gbm" / "model.json").unlink()
    with pytest.raises(ReleaseRefusedError, match=r"gbm holds weight files but no model\.json"):
        build_bundle(tmp_path / "m.tar.gz", "v1.2.3", project)


def test_bundle_refuses_metrics_of_another_artifact(project: Path, tmp_path: Path) -> None:
    # Retrained after the evaluation: its metrics are those of the model it replaced.
    write_artifact(
        project / "models" / "linear",
        read_artifact(project / "models" / "linear").manifest | {"created": "2026-02-01T00:00:00Z"},
        {"weights.npz": {"w": np.arange(4.0)}},
    )
    with pytest.raises(ReleaseRefusedError, match=r"linear\.json are not the metrics of .*linear"):
        build_bundle(tmp_path / "m.tar.gz", "v1.2.3", project)
    assert not (tmp_path / "m.tar.gz").exists()


def test_bundle_refuses_two_models_of_one_name(project: Path, tmp_path: Path) -> None:
    shutil.copytree(project / "models" / "linear", project / "models" / "linear-copy")
    with pytest.raises(ReleaseRefusedError, match="both named 'linear'"):
        build_bundle(tmp_path / "m.tar.gz", "v1.2.3", project)
    assert not (tmp_path / "m.tar.gz").exists()


def test_bundle_refuses_a_model_without_metrics(project: Path, tmp_path: Path) -> None:
    (project / "reports" / "metrics" / "gbm.json").unlink()
    with pytest.raises(ReleaseRefusedError, match="gbm has no metrics"):
        build_bundle(tmp_path / "m.tar.gz", "v1.2.3", project)


def test_bundle_refuses_when_the_gated_model_is_not_there(project: Path, tmp_path: Path) -> None:
    for path in sorted((project / "models" / "ensemble").iterdir()):
        path.unlink()
    with pytest.raises(ReleaseRefusedError, match="gated model ensemble is not under"):
        build_bundle(tmp_path / "m.tar.gz", "v1.2.3", project)


def test_bundle_command(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)
    bundle_main(["--release", "v2.0.0"])
    assert (project / "dist" / "phishline-models.tar.gz").is_file()
    assert "wrote dist/phishline-models.tar.gz" in capsys.readouterr().out
    write_metrics(project, "ensemble", {**GOOD, "f1": 0.5})
    with pytest.raises(SystemExit, match="model release refused"):
        bundle_main(["--release", "v2.0.1", "--out", "other.tar.gz"])
    assert not (project / "other.tar.gz").exists()


def test_gate_help_describes_the_gate_without_running_it(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_metrics(project, "ensemble", {**GOOD, "f1": 0.9})
    monkeypatch.chdir(project)
    with pytest.raises(SystemExit) as exit_info:
        gate_main(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "is released only when its test-split metrics" in text
    assert "REFUSED" not in text  # the gate did not run


def test_bundle_help_describes_the_asset_in_whole_sentences(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        bundle_main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "the artifact directories at its top" in text
    assert "MODEL_CARD.md" in text
