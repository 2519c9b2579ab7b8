"""Without the `build` extra, as in the serving image, training-only code says what to install."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lib_ml.scorers import tree_ensemble_onnx


def test_sparse_matrices_without_scipy_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("scipy", "scipy.sparse"):
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.delitem(sys.modules, "lib_ml.matrices", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'phishline-lib-ml\[build\]'"):
        importlib.import_module("lib_ml.matrices")


def test_building_trees_without_onnx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("onnx", "onnx.helper"):
        monkeypatch.setitem(sys.modules, module, None)
    stump = {name: np.zeros(1) for name in ("feature", "threshold", "left", "right", "value")}
    with pytest.raises(ModuleNotFoundError, match=r"ONNX model needs onnx.*\[build\]"):
        tree_ensemble_onnx({**stump, "roots": np.zeros(1, dtype=np.int64)}, n_features=1)


def test_serving_needs_neither_scipy_nor_onnx(artifacts: Path) -> None:
    # A fresh interpreter, so modules this test session already imported cannot hide the need.
    serve_without_build_extra = f"""
import sys
for module in ("scipy", "onnx", "lightgbm", "sklearn"):
    sys.modules[module] = None
from lib_ml import Predictor
for family in ("linear", "gbm", "ensemble"):
    prediction = Predictor.load({str(artifacts)!r} + "/" + family).predict(["http://a.example/x"])[0]
    print(family, prediction.label)
"""
    served = subprocess.run(
        [sys.executable, "-c", serve_without_build_extra],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert served.returncode == 0, served.stderr
    assert [line.split()[0] for line in served.stdout.splitlines()] == ["linear", "gbm", "ensemble"]


def test_onnxruntime_keeps_no_telemetry_device_id(tmp_path: Path) -> None:
    # A clean environment: CI variables (GITHUB_ACTIONS, ...) would silence it on their own.
    home = tmp_path / "home"
    home.mkdir()
    imported = subprocess.run(
        [sys.executable, "-c", "import lib_ml.scorers"],
        env={"HOME": str(home), "PATH": os.environ["PATH"]},
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "telemetry" not in imported.stderr
    assert not list(home.rglob("*"))
