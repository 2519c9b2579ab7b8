"""`phishline serve model` on a corrupt artifact refuses to start, with a one-line reason.

model-service's own tests cover a weight file whose sha256 no longer matches (at start-up, in
process and in a subprocess, and on SIGHUP reload, which keeps the previous models). These are
the other ways an artifact can be broken, checked on the command users and `phishline up` run:
exit status 1, the reason on stderr naming the artifact, no traceback.
"""

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from phishline.bench_e2e.stack import HOST

from ..conftest import free_port

pytestmark = pytest.mark.slow
START_SECONDS = 60


def truncate_manifest(artifact: Path) -> str:
    manifest = artifact / "model.json"
    manifest.write_bytes(manifest.read_bytes()[:200])
    return "not valid JSON"


def mistype_threshold(artifact: Path) -> str:
    manifest = artifact / "model.json"
    fields = json.loads(manifest.read_text(encoding="utf-8"))
    fields["threshold"] = "high"
    manifest.write_text(json.dumps(fields), encoding="utf-8")
    return "threshold"


def truncate_weights_and_rehash(artifact: Path) -> str:
    """A weight file cut short whose recorded sha256 was recomputed: what a copy interrupted
    mid-file looks like after someone 'repairs' the manifest; the hash check cannot catch it."""
    manifest = artifact / "model.json"
    fields = json.loads(manifest.read_text(encoding="utf-8"))
    name: str = sorted(fields["files"])[0]
    weights = artifact / name
    weights.write_bytes(weights.read_bytes()[:1000])
    fields["files"][name] = hashlib.sha256(weights.read_bytes()).hexdigest()
    manifest.write_text(json.dumps(fields), encoding="utf-8")
    return name


@pytest.mark.parametrize(
    "damage",
    [
        truncate_manifest,
        mistype_threshold,
        truncate_weights_and_rehash,
    ],
)
def test_serve_model_refuses_a_corrupt_artifact_clearly(
    trained_models: Path, tmp_path: Path, damage: Callable[[Path], str]
) -> None:
    models = Path(shutil.copytree(trained_models, tmp_path / "models"))
    detail = damage(models / "gbm")
    finished = subprocess.run(
        [sys.executable, "-m", "phishline", "serve", "model", "--model-dir", str(models),
         "--host", HOST, "--port", str(free_port())],
        capture_output=True, text=True, timeout=START_SECONDS, check=False,
    )  # fmt: skip
    assert finished.returncode == 1
    assert "Traceback" not in finished.stderr
    reason = finished.stderr.strip()
    assert reason.startswith("Error: model-service cannot start: "), reason
    assert str(models / "gbm") in reason
    assert detail in reason
