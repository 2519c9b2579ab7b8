"""The libraries published to PyPI, built as .github/workflows/libs.yml builds them."""

import email.parser
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

VERSION = "1.2.3"  # what libs.yml passes from the release tag
# (folder, distribution file name, package) of each library libs.yml publishes.
LIBRARIES = [("lib-ml", "phishline_lib_ml", "lib_ml"),
             ("lib-version", "phishline_lib_version", "lib_version")]  # fmt: skip


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    uv = Path(sys.executable).parent / "uv"
    env = {**os.environ, "SETUPTOOLS_SCM_PRETEND_VERSION": VERSION}
    for folder, _, _ in LIBRARIES:
        subprocess.run(
            [uv, "build", "--quiet", "--no-build-isolation", "--python", sys.executable,
             "--out-dir", out, REPO / folder],
            check=True, env=env, timeout=120,
        )  # fmt: skip
    return out


def metadata(text: str) -> email.message.Message:
    return email.parser.HeaderParser().parsestr(text)


@pytest.mark.parametrize(("folder", "name", "package"), LIBRARIES)
def test_wheel_carries_readable_metadata_the_license_and_types(
    dist: Path, folder: str, name: str, package: str
) -> None:
    with zipfile.ZipFile(dist / f"{name}-{VERSION}-py3-none-any.whl") as wheel:
        files = set(wheel.namelist())
        meta = metadata(wheel.read(f"{name}-{VERSION}.dist-info/METADATA").decode())
    # 2.4, not hatchling's newer default: twine, and so the upload to PyPI, refuses 2.5.
    assert meta["Metadata-Version"] == "2.4"
    assert meta["Version"] == VERSION
    assert (meta["License-Expression"], meta["License-File"]) == ("MIT", "LICENSE")
    assert f"{name}-{VERSION}.dist-info/licenses/LICENSE" in files
    assert f"{package}/py.typed" in files
    assert not any(path.startswith("tests/") for path in files), folder


@pytest.mark.parametrize(("folder", "name", "package"), LIBRARIES)
def test_sdist_carries_readable_metadata_and_the_license(
    dist: Path, folder: str, name: str, package: str
) -> None:
    root = f"{name}-{VERSION}"
    with tarfile.open(dist / f"{root}.tar.gz") as sdist:
        names = set(sdist.getnames())
        info = sdist.extractfile(f"{root}/PKG-INFO")
        assert info is not None
        meta = metadata(info.read().decode())
    assert meta["Metadata-Version"] == "2.4"
    assert f"{root}/LICENSE" in names
    assert f"{root}/src/{package}/__init__.py" in names, folder
    assert (REPO / folder / "LICENSE").read_bytes() == (REPO / "LICENSE").read_bytes()
