"""The artifact format: what write_artifact writes, and the messages that name what the
reader refuses and where."""

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lib_ml import ArtifactError, read_artifact, write_artifact
from lib_ml.artifact import MANIFEST, read_manifest


def _written_manifest(artifacts: Path) -> dict[str, Any]:
    """The linear artifact's manifest as a trainer passes it (without what the writer adds)."""
    manifest = json.loads((artifacts / "linear" / MANIFEST).read_text())
    return {k: v for k, v in manifest.items() if k not in ("files", "format_version")}


def test_model_json_is_the_same_bytes_whatever_the_order_of_its_keys(
    artifacts: Path, tmp_path: Path
) -> None:
    # The sha256 of model.json names the artifact: the same model must get the same name.
    weights = read_artifact(artifacts / "linear").weights
    manifest = _written_manifest(artifacts)
    write_artifact(tmp_path / "reversed", dict(reversed(manifest.items())), weights)
    written = (tmp_path / "reversed" / MANIFEST).read_bytes()
    assert written == (artifacts / "linear" / MANIFEST).read_bytes()
    full = json.loads(written)
    assert written.decode() == json.dumps(full, indent=2, sort_keys=True) + "\n"
    assert read_manifest(tmp_path / "reversed") == full


def test_an_artifact_is_written_into_directories_it_creates(
    artifacts: Path, tmp_path: Path
) -> None:
    weights = read_artifact(artifacts / "linear").weights
    write_artifact(tmp_path / "models" / "linear", _written_manifest(artifacts), weights)
    assert read_artifact(tmp_path / "models" / "linear").manifest["name"] == "linear"


@pytest.mark.parametrize("threshold", [0.0, 1.0])
def test_thresholds_at_the_ends_of_the_probability_range_are_valid(
    artifacts: Path, tmp_path: Path, threshold: float
) -> None:
    weights = read_artifact(artifacts / "linear").weights
    write_artifact(tmp_path, {**_written_manifest(artifacts), "threshold": threshold}, weights)
    assert read_artifact(tmp_path).manifest["threshold"] == threshold


def test_the_writer_pickles_no_object_arrays(artifacts: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allow_pickle=False"):
        write_artifact(
            tmp_path / "linear",
            _written_manifest(artifacts),
            {"linear.npz": {"coef": np.array([object()], dtype=object)}},
        )
    assert not (tmp_path / "linear").exists()


def test_refusals_name_the_manifest(artifacts: Path, tmp_path: Path) -> None:
    manifest = _written_manifest(artifacts)
    path = re.escape(str(tmp_path / MANIFEST))
    with pytest.raises(ArtifactError, match=rf"^{path} lacks the keys \['params'\]$"):
        write_artifact(tmp_path, {k: v for k, v in manifest.items() if k != "params"}, {})
    directory = Path(shutil.copytree(artifacts / "linear", tmp_path / "linear"))
    written = json.loads((directory / MANIFEST).read_text())
    (directory / MANIFEST).write_text(json.dumps({**written, "threshold": 1.5}))
    path = re.escape(str(directory / MANIFEST))
    with pytest.raises(
        ArtifactError, match=rf"^{path}: 'threshold' must be a probability, not 1.5$"
    ):
        read_artifact(directory)


def test_a_listed_weight_file_that_is_not_there_is_refused(artifacts: Path, tmp_path: Path) -> None:
    directory = Path(shutil.copytree(artifacts / "linear", tmp_path / "linear"))
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["files"]["absent.npz"] = "0" * 64
    (directory / MANIFEST).write_text(json.dumps(manifest))
    message = "weight file 'absent.npz' listed in model.json is missing"
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$"):
        read_artifact(directory)
