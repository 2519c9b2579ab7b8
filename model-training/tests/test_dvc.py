"""`dvc repro` reproduces the pipeline and is a no-op the second time; the cache round-trips
through an S3 remote (moto_server on 127.0.0.1)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from .conftest import REPO, digests
from .test_pipeline import write_project

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def dvc(project: Path, *args: str, env: dict[str, str] | None = None) -> str:
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=project, env=environment,
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, ebbu_sample: dict[str, list[str]]) -> Path:
    root = tmp_path_factory.mktemp("dvc-project")
    write_project(root, tmp_path_factory.mktemp("mirror"), ebbu_sample)
    shutil.copy(REPO / "dvc.yaml", root)
    for package in ("lib-ml", "model-training"):
        shutil.copytree(REPO / package / "src", root / package / "src")
    dvc(root, "init", "--no-scm", "-q")
    shutil.copy(REPO / ".dvcignore", root)
    return root


def test_repro_builds_everything_and_second_run_does_nothing(project: Path) -> None:
    dvc(project, "repro")
    for family in ("linear", "gbm", "ensemble"):
        assert (project / "models" / family / "model.json").is_file()
    assert (project / "reports" / "metrics" / "ensemble.json").is_file()
    second = dvc(project, "repro")
    assert "didn't change, skipping" in second
    assert "Running stage" not in second
    # Bytecode that importing the code writes beside it is no change of the code.
    cache = project / "lib-ml" / "src" / "lib_ml" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "urls.cpython-311.pyc").write_bytes(b"compiled")
    assert "Data and pipelines are up to date" in dvc(project, "status")


def test_push_and_pull_through_s3(project: Path, moto_endpoint: str) -> None:
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }  # fmt: skip
    boto3.client("s3", endpoint_url=moto_endpoint, aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1").create_bucket(Bucket="phishline-dvc")  # fmt: skip
    if not (project / "models").is_dir():
        dvc(project, "repro")
    dvc(project, "remote", "add", "-d", "s3", "s3://phishline-dvc/cache")
    dvc(project, "remote", "modify", "s3", "endpointurl", moto_endpoint)
    before = digests(project / "models")
    dvc(project, "push", env=credentials)
    shutil.rmtree(project / ".dvc" / "cache")
    shutil.rmtree(project / "models")
    shutil.rmtree(project / "data")
    dvc(project, "pull", env=credentials)
    assert digests(project / "models") == before
    assert "didn't change, skipping" in dvc(project, "repro")
