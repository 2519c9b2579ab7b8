"""The release rules of phishline, in one place (docs/release.md explains them for people).

- Tags: releases `vX.Y.Z`, pre-releases `vX.Y.Z-beta.N`; other tags are ignored.
- Bump markers in commit messages: `#major`, `#minor`, `#patch`, `#none` (whole words, any
  case). A message counts as its largest marker, `#none` being the smallest, and as `#patch`
  when it has none; the subject a revert quotes (`Revert "…"`) is not the revert's. The
  commits since the last release tag bump by the largest of their messages; when that is
  `#none` (or there are no commits) nothing is released.
- No release tag yet: the bump starts from 0.0.0 (`#patch` gives v0.0.1, `#minor` v0.1.0).
- Pre-releases: the release the commits would make, as `-beta.N`, N one above the highest
  beta of that release so far.
- Image tags: `X.Y.Z`, and `X.Y.latest`, `X.latest`, `latest` where this release is the
  highest of that line; a pre-release only gets `X.Y.Z-beta.N`.
- The "latest" GitHub Release: a release becomes it when it is not below the repository's
  latest release at the moment it is published (a pre-release never does).
"""

from lib_version.release.bump import Bump, message_bump, release_bump
from lib_version.release.images import ImageMetadata, image_metadata
from lib_version.release.plan import (
    Release,
    image_tags,
    is_latest,
    last_release,
    plan_prerelease,
    plan_release,
    plan_tag,
)
from lib_version.release.versions import InvalidTagError, Version, parse_tags

__all__ = [
    "Bump",
    "ImageMetadata",
    "InvalidTagError",
    "Release",
    "Version",
    "image_metadata",
    "image_tags",
    "is_latest",
    "last_release",
    "message_bump",
    "parse_tags",
    "plan_prerelease",
    "plan_release",
    "plan_tag",
    "release_bump",
]
