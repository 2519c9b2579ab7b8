"""What to release next, and which image tags and "latest" markers that release moves."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lib_version.release.bump import Bump, release_bump
from lib_version.release.versions import Version

_FIRST = Version(0, 0, 0)  # what the first bump starts from when no release tag exists yet


@dataclass(frozen=True)
class Release:
    version: Version
    previous: Version | None  # the release before it: release notes start there
    bump: Bump | None  # None when a pushed tag chose the version
    latest: bool  # higher than every release so far: it becomes the "latest" release


def last_release(versions: Iterable[Version]) -> Version | None:
    """The highest release (pre-releases do not count): commits after its tag are unreleased."""
    return max((v for v in versions if not v.is_prerelease), default=None)


def is_latest(version: Version, versions: Iterable[Version]) -> bool:
    """Whether version becomes the "latest" release over versions: a release (never a
    pre-release) not below the highest release among them (or there is none yet)."""
    previous = last_release(versions)
    return not version.is_prerelease and (previous is None or version >= previous)


def _bumped(version: Version, bump: Bump) -> Version:
    if bump is Bump.MAJOR:
        return Version(version.major + 1, 0, 0)
    if bump is Bump.MINOR:
        return Version(version.major, version.minor + 1, 0)
    return Version(version.major, version.minor, version.patch + 1)


def plan_release(versions: Sequence[Version], messages: Iterable[str]) -> Release | None:
    """The next release from the messages of the commits since the last release tag;
    None when they ask for no release (all `#none`, or no commits)."""
    previous = last_release(versions)
    bump = release_bump(messages)
    if bump is Bump.NONE:
        return None
    return Release(_bumped(previous or _FIRST, bump), previous, bump, latest=True)


def plan_prerelease(versions: Sequence[Version], messages: Iterable[str]) -> Release | None:
    """The next beta of the release these commits would make: `-beta.N` with N one above the
    highest beta of that release so far (betas of earlier, already released versions do not
    count); None when the commits ask for no release."""
    planned = plan_release(versions, messages)
    if planned is None:
        return None
    target = planned.version
    betas = [v.beta for v in versions if v.beta is not None and v.release == target]
    beta = Version(target.major, target.minor, target.patch, max(betas, default=0) + 1)
    return Release(beta, planned.previous, planned.bump, latest=False)


def plan_tag(versions: Sequence[Version], tag: str) -> Release:
    """The release a pushed tag asks for (raises InvalidTagError for other tags)."""
    version = Version.parse(tag)
    earlier = [v for v in versions if v < version.release]
    return Release(version, last_release(earlier), None, is_latest(version, versions))


def image_tags(version: Version, versions: Iterable[Version]) -> list[str]:
    """`X.Y.Z` plus the floating `X.Y.latest`, `X.latest` and `latest`, each only when this
    version is the highest release it covers (a hotfix of an old line never moves `latest`
    back); a pre-release gets only its own `X.Y.Z-beta.N`."""
    if version.is_prerelease:
        return [str(version)]
    releases = [v for v in versions if not v.is_prerelease] + [version]
    floating = {
        f"{version.major}.{version.minor}.latest": [
            v for v in releases if (v.major, v.minor) == (version.major, version.minor)
        ],
        f"{version.major}.latest": [v for v in releases if v.major == version.major],
        "latest": releases,
    }
    return [str(version)] + [tag for tag, covered in floating.items() if version >= max(covered)]
