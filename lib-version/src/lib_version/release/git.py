"""The two facts the release rules need from git: the tags, and the commit messages since one."""

import shutil
import subprocess
from pathlib import Path


class GitError(RuntimeError):
    """git could not answer (not a repository, an unknown revision)."""


_SEPARATOR = "\x00"  # `git log -z` separates commits by it: it cannot occur in a message


def _git(repo: Path, *args: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise FileNotFoundError("git is not on PATH; the release rules read tags and commits")
    done = subprocess.run(  # noqa: S603 - git with arguments built here, no shell
        [git, *args], cwd=repo, check=False, capture_output=True, text=True
    )
    if done.returncode != 0:  # e.g. not a repository: say git's reason, not its exit status
        raise GitError(f"git {' '.join(args)} in {repo}: {done.stderr.strip()}")
    return done.stdout


def tags(repo: Path) -> list[str]:
    return _git(repo, "tag", "--list").split()


def messages_since(repo: Path, tag: str | None) -> list[str]:
    """Full messages of the commits reachable from HEAD and not from tag (all when tag is None)."""
    revisions = f"refs/tags/{tag}..HEAD" if tag else "HEAD"
    log = _git(repo, "log", "-z", "--format=%B", revisions)
    return [message.strip() for message in log.split(_SEPARATOR) if message.strip()]
