import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from lib_version import DISTRIBUTION, UNKNOWN_VERSION, VersionUtil

# PEP 440 release with optional pre/dev segments, as hatch-vcs writes them.
PEP440 = re.compile(r"^\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[\w.]+)?$")


# Written out, not imported: every phishline package has the same version, so comparing
# against the code's own constant would pass whatever distribution it named.
LIB_VERSION = "phishline-lib-version"


def test_get_version_matches_installed_metadata() -> None:
    assert DISTRIBUTION == LIB_VERSION
    assert VersionUtil.get_version() == metadata.version(LIB_VERSION)


def test_get_version_reads_this_librarys_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    versions = {LIB_VERSION: "7.7.7", "phishline-app": "1.1.1", "phishline": "2.2.2"}

    def version(name: str) -> str:
        if name not in versions:
            raise metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(metadata, "version", version)
    assert VersionUtil.get_version() == "7.7.7"


def test_version_is_pep440() -> None:
    assert PEP440.match(VersionUtil.get_version())


def test_unknown_distribution_falls_back() -> None:
    assert VersionUtil.version_of("phishline-no-such-distribution") == UNKNOWN_VERSION


def test_fallback_is_used_when_metadata_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert VersionUtil.get_version() == UNKNOWN_VERSION


def one_liner(environment: dict[str, str] | None = None) -> str:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from lib_version import VersionUtil; print(VersionUtil.get_version())",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=environment,
    ).stdout.strip()


def test_documented_one_liner_prints_the_version(tmp_path: Path) -> None:
    assert one_liner() == metadata.version(LIB_VERSION)
    # Metadata of this library alone, found first on the path, with a version no other
    # phishline package has: the one-liner must print it.
    info = tmp_path / "phishline_lib_version-9.9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {LIB_VERSION}\nVersion: 9.9.9\n")
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    assert one_liner({**os.environ, "PYTHONPATH": path}) == "9.9.9"
