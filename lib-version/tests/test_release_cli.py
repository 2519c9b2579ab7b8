"""`python -m lib_version.release` against real git repositories, as the workflows call it."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from lib_version.release import Version, image_metadata
from lib_version.release.cli import format_outputs, main
from lib_version.release.git import messages_since, tags

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,  # no user config (signing, hooks) leaks into the tests
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.git("init", "--quiet", "--initial-branch=main")

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.path, env={**os.environ, **GIT_ENV},
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip

    def commit(self, message: str) -> None:
        self.git("commit", "--quiet", "--allow-empty", "-m", message)

    def tag(self, name: str) -> None:
        self.git("tag", name)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def parse_outputs(text: str) -> dict[str, str | list[str]]:
    """Read GITHUB_OUTPUT content the way the runner does."""
    outputs: dict[str, str | list[str]] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            key, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            else:
                raise AssertionError(f"unterminated {key}")
            outputs[key] = block
        else:
            key, value = line.split("=", 1)
            outputs[key] = value
    return outputs


def run(repo: Repo, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, str | list[str]]:
    main(["--repo", str(repo.path), *args])
    return parse_outputs(capsys.readouterr().out)


def test_git_reads_tags_and_the_messages_since_a_tag(repo: Repo) -> None:
    repo.commit("one")
    repo.tag("v1.0.0")
    repo.commit("two\n\nbody #minor")
    repo.commit("three")
    assert tags(repo.path) == ["v1.0.0"]
    assert messages_since(repo.path, "v1.0.0") == ["three", "two\n\nbody #minor"]
    assert messages_since(repo.path, None) == ["three", "two\n\nbody #minor", "one"]


def test_git_missing_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="git is not on PATH"):
        tags(tmp_path)


def test_outside_a_repository_git_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--repo", str(tmp_path), "next"])
    assert stopped.value.code == 2  # a usage error, not a traceback
    error = capsys.readouterr().err
    assert f"git tag --list in {tmp_path}: fatal: not a git repository" in error


def test_next_release_from_the_commits_since_the_last_tag(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("big change #major")
    repo.tag("v1.2.3")
    repo.tag("unrelated-tag")
    repo.commit("add a page #minor")
    repo.commit("fix a typo")
    assert run(repo, capsys, "next") == {
        "release": "true", "version": "1.3.0", "tag": "v1.3.0", "pep440": "1.3.0",
        "prerelease": "false", "latest": "true", "previous": "v1.2.3", "bump": "minor",
    }  # fmt: skip


def test_next_with_no_tag_and_only_none_markers(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("docs #none")
    assert run(repo, capsys, "next") == {"release": "false"}
    repo.commit("first feature")
    assert run(repo, capsys, "next")["tag"] == "v0.0.1"


def test_a_git_revert_releases_a_patch(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    """Rolling back a breaking change with `git revert` (docs/release.md) is a patch."""
    repo.commit("start")
    repo.tag("v2.0.0")
    (repo.path / "api.txt").write_text("v2 only\n")
    repo.git("add", "api.txt")
    repo.commit("drop the v1 API #major")
    repo.tag("v3.0.0")
    repo.git("revert", "--no-edit", "HEAD")
    assert run(repo, capsys, "next")["tag"] == "v3.0.1"


def test_next_prerelease_numbers_betas(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit("start")
    repo.tag("v0.1.0")
    repo.commit("try something")
    repo.tag("v0.1.1-beta.1")
    repo.commit("try again")
    outputs = run(repo, capsys, "next", "--prerelease")
    assert outputs["tag"] == "v0.1.1-beta.2"
    assert outputs["pep440"] == "0.1.1b2"
    assert outputs["prerelease"] == "true"
    assert outputs["latest"] == "false"


def test_annotated_tags_count_like_lightweight_ones(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    """release.yml's Tag job makes annotated tags (their message names the run); a pushed tag
    may be either kind."""
    repo.commit("start #minor")
    repo.git("tag", "--annotate", "--message", "release run 41", "v0.1.0")
    # The released commit itself (a run re-planned with "Re-run all jobs"): nothing to release.
    assert run(repo, capsys, "next") == {"release": "false"}
    repo.commit("try something")
    repo.git("tag", "--annotate", "--message", "release run 42", "v0.1.1-beta.1")
    repo.commit("try again")
    assert tags(repo.path) == ["v0.1.0", "v0.1.1-beta.1"]
    assert messages_since(repo.path, "v0.1.0") == ["try again", "try something"]
    outputs = run(repo, capsys, "next", "--prerelease")
    assert (outputs["tag"], outputs["previous"]) == ("v0.1.1-beta.2", "v0.1.0")
    assert run(repo, capsys, "tag", "v0.1.1")["previous"] == "v0.1.0"


def test_pushed_tag(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit("start")
    repo.tag("v2.0.0")
    repo.tag("v1.4.0")
    outputs = run(repo, capsys, "tag", "v1.4.1")
    assert outputs["previous"] == "v1.4.0"
    assert outputs["latest"] == "false"
    assert outputs["bump"] == ""
    with pytest.raises(SystemExit) as exit_info:
        main(["--repo", str(repo.path), "tag", "main"])
    assert exit_info.value.code == 2
    assert "'main' is not a release tag" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("tag", "current", "latest"),
    [
        ("v1.2.3", "v1.2.2", "true"),  # the highest release so far
        ("v1.2.3", "", "true"),  # no release yet
        ("v1.2.3", "v1.3.0", "false"),  # a newer release came out before this one was published
        ("v1.2.3", "v1.2.3", "true"),  # itself
        ("v1.2.3", "nightly", "true"),  # a tag of another shape is not one of ours
        ("v1.3.0-beta.1", "", "false"),  # a pre-release never is
    ],
)
def test_latest_against_the_repositorys_latest_release(
    capsys: pytest.CaptureFixture[str], tag: str, current: str, latest: str
) -> None:
    main(["latest", "--tag", tag, "--current", current])
    assert parse_outputs(capsys.readouterr().out) == {"latest": latest}


def test_latest_without_a_current_release_and_with_a_bad_tag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["latest", "--tag", "v0.0.1"])
    assert parse_outputs(capsys.readouterr().out) == {"latest": "true"}
    with pytest.raises(SystemExit) as exit_info:
        main(["latest", "--tag", "main"])
    assert exit_info.value.code == 2
    assert "'main' is not a release tag" in capsys.readouterr().err


def test_image_references_and_labels(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit("start")
    repo.tag("v1.0.0")
    outputs = run(
        repo, capsys, "image", "--tag", "v1.1.0", "--image", "ghcr.io/PhishLine/model-service",
        "--revision", "abc123", "--created", "2026-01-02T03:04:05+00:00",
        "--source", "https://github.com/PhishLine/phishline", "--licenses", "MIT",
    )  # fmt: skip
    assert outputs["tags"] == [
        "ghcr.io/phishline/model-service:1.1.0",
        "ghcr.io/phishline/model-service:1.1.latest",
        "ghcr.io/phishline/model-service:1.latest",
        "ghcr.io/phishline/model-service:latest",
    ]
    assert outputs["labels"] == [
        "org.opencontainers.image.title=model-service",
        "org.opencontainers.image.version=1.1.0",
        "org.opencontainers.image.revision=abc123",
        "org.opencontainers.image.created=2026-01-02T03:04:05+00:00",
        "org.opencontainers.image.source=https://github.com/PhishLine/phishline",
        "org.opencontainers.image.url=https://github.com/PhishLine/phishline",
        "org.opencontainers.image.licenses=MIT",
    ]


def test_prerelease_image_has_a_single_reference() -> None:
    metadata = image_metadata(
        "ghcr.io/o/app", Version.parse("v1.1.0-beta.3"), [],
        revision="r", created="c", source="s", licenses="MIT",
    )  # fmt: skip
    assert metadata.refs == ["ghcr.io/o/app:1.1.0-beta.3"]


def test_release_notes(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit("start")
    repo.tag("v1.0.0")
    main([
        "--repo", str(repo.path), "notes", "--tag", "v1.1.0", "--previous", "v1.0.0",
        "--bump", "minor", "--image", "ghcr.io/O/app", "--library", "phishline-lib-ml",
    ])  # fmt: skip
    notes = capsys.readouterr().out
    assert notes.startswith("Release v1.1.0, chosen by a minor bump from the commit messages")
    assert "since v1.0.0" in notes
    assert "| `ghcr.io/o/app` | `1.1.0`, `1.1.latest`, `1.latest`, `latest` |" in notes
    assert "## Python libraries (PyPI)" in notes
    assert "- `phishline-lib-ml==1.1.0`" in notes


def test_prerelease_notes_from_a_pushed_tag(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit("start")
    main(["--repo", str(repo.path), "notes", "--tag", "v0.1.0-beta.1", "--library", "x"])
    notes = capsys.readouterr().out
    assert notes.startswith("Pre-release v0.1.0-beta.1, chosen by its tag.")
    assert "(TestPyPI)" in notes
    assert "- `x==0.1.0b1`" in notes


def test_multiline_outputs_use_a_delimiter_absent_from_the_values() -> None:
    text = format_outputs({"one": "1", "many": ["a=b", "EOF", "c<<d"]})
    assert parse_outputs(text) == {"one": "1", "many": ["a=b", "EOF", "c<<d"]}
    assert text.count("EOF_") == 2


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["image", "--tag", "v1.0.0"])
    assert exit_info.value.code == 2
    assert "--image" in capsys.readouterr().err


def test_module_entry_point(
    repo: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit("start #minor")
    monkeypatch.setattr(sys, "argv", ["lib_version.release", "--repo", str(repo.path), "next"])
    runpy.run_module("lib_version.release", run_name="__main__")
    assert "tag=v0.1.0\n" in capsys.readouterr().out
