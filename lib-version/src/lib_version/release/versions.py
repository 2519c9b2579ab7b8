"""Release versions as git tags: `vX.Y.Z` for releases, `vX.Y.Z-beta.N` for pre-releases."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import total_ordering

# No leading zeros (SemVer 2.0.0), beta numbers start at 1. ASCII digits only (`\d` and int()
# take any script's), at most 18 (what a signed 64-bit integer holds, as tools that compare
# versions expect), the whole tag (`$` would also match before a final line break).
_NUMBER = r"(0|[1-9][0-9]{0,17})"
_TAG = re.compile(rf"v{_NUMBER}\.{_NUMBER}\.{_NUMBER}(?:-beta\.([1-9][0-9]{{0,17}}))?")


class InvalidTagError(ValueError):
    """A tag that is neither `vX.Y.Z` nor `vX.Y.Z-beta.N`."""


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    beta: int | None = None  # None: a release; N: the N-th pre-release of major.minor.patch

    @classmethod
    def parse(cls, tag: str) -> "Version":
        match = _TAG.fullmatch(tag)
        if match is None:
            raise InvalidTagError(f"{tag!r} is not a release tag vX.Y.Z or vX.Y.Z-beta.N")
        major, minor, patch, beta = match.groups()
        return cls(int(major), int(minor), int(patch), int(beta) if beta else None)

    @property
    def is_prerelease(self) -> bool:
        return self.beta is not None

    @property
    def release(self) -> "Version":
        """The release this version is (or is a pre-release of)."""
        return Version(self.major, self.minor, self.patch)

    @property
    def tag(self) -> str:
        return f"v{self}"

    @property
    def pep440(self) -> str:
        """How Python packaging spells it (what hatch-vcs writes into the wheels)."""
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core if self.beta is None else f"{core}b{self.beta}"

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core if self.beta is None else f"{core}-beta.{self.beta}"

    def _key(self) -> tuple[int, int, int, bool, int]:
        # SemVer precedence: every pre-release of X.Y.Z sorts before X.Y.Z itself.
        return (self.major, self.minor, self.patch, self.beta is None, self.beta or 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()


def parse_tags(tags: Iterable[str]) -> list[Version]:
    """The versions among tags, sorted; tags of any other shape are not ours and are skipped."""
    versions = []
    for tag in tags:
        try:
            versions.append(Version.parse(tag.strip()))
        except InvalidTagError:
            continue
    return sorted(versions)
