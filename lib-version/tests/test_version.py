import re
import subprocess
import sys
from importlib import metadata

import pytest

from lib_version import DISTRIBUTION, UNKNOWN_VERSION, VersionUtil

# PEP 440 release with optional pre/dev segments, as hatch-vcs writes them.
PEP440 = re.compile(r"^\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[\w.]+)?$")


def test_get_version_matches_installed_metadata() -> None:
    assert VersionUtil.get_version() == metadata.version(DISTRIBUTION)


def test_version_is_pep440() -> None:
    assert PEP440.match(VersionUtil.get_version())


def test_unknown_distribution_falls_back() -> None:
    assert VersionUtil.version_of("phishline-no-such-distribution") == UNKNOWN_VERSION


def test_fallback_is_used_when_metadata_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert VersionUtil.get_version() == UNKNOWN_VERSION


def test_documented_one_liner_prints_the_version() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from lib_version import VersionUtil; print(VersionUtil.get_version())",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert out == metadata.version(DISTRIBUTION)
