"""`python -m lib_version.release`: the release rules for the workflows. Every command but
`notes` prints step outputs in the GITHUB_OUTPUT file format (append them to that file)."""

import argparse
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from lib_version.release.bump import Bump
from lib_version.release.git import GitError, messages_since, tags
from lib_version.release.images import image_metadata
from lib_version.release.notes import release_notes
from lib_version.release.plan import (
    Release,
    is_latest,
    last_release,
    plan_prerelease,
    plan_release,
    plan_tag,
)
from lib_version.release.versions import InvalidTagError, Version, parse_tags

Outputs = Mapping[str, str | Sequence[str]]


def format_outputs(outputs: Outputs) -> str:
    """`key=value` lines; lists as `key<<DELIMITER` blocks with a delimiter no value contains."""
    lines = []
    for key, value in outputs.items():
        if isinstance(value, str):
            lines.append(f"{key}={value}")
        else:
            delimiter = f"EOF_{uuid.uuid4().hex}"
            lines += [f"{key}<<{delimiter}", *value, delimiter]
    return "\n".join(lines) + "\n"


def release_outputs(release: Release | None) -> dict[str, str]:
    if release is None:
        return {"release": "false"}
    version = release.version
    return {
        "release": "true",
        "version": str(version),
        "tag": version.tag,
        "pep440": version.pep440,
        "prerelease": str(version.is_prerelease).lower(),
        "latest": str(release.latest).lower(),
        "previous": release.previous.tag if release.previous else "",
        "bump": str(release.bump) if release.bump else "",
    }


def _next(args: argparse.Namespace) -> str:
    versions = parse_tags(tags(args.repo))
    previous = last_release(versions)
    messages = messages_since(args.repo, previous.tag if previous else None)
    plan = plan_prerelease if args.prerelease else plan_release
    return format_outputs(release_outputs(plan(versions, messages)))


def _tag(args: argparse.Namespace) -> str:
    return format_outputs(release_outputs(plan_tag(parse_tags(tags(args.repo)), args.tag)))


def _latest(args: argparse.Namespace) -> str:
    # The repository's latest release, not the git tags: a tag may have no release (yet).
    current = parse_tags([args.current]) if args.current else []
    latest = is_latest(Version.parse(args.tag), current)
    return format_outputs({"latest": str(latest).lower()})


def _image(args: argparse.Namespace) -> str:
    metadata = image_metadata(
        args.image,
        Version.parse(args.tag),
        parse_tags(tags(args.repo)),
        revision=args.revision,
        created=args.created,
        source=args.source,
        licenses=args.licenses,
    )
    labels = [f"{key}={value}" for key, value in metadata.labels.items()]
    return format_outputs({"tags": metadata.refs, "labels": labels})


def _notes(args: argparse.Namespace) -> str:
    release = Release(
        Version.parse(args.tag),
        Version.parse(args.previous) if args.previous else None,
        Bump[args.bump.upper()] if args.bump else None,
        latest=False,  # the notes do not depend on it
    )
    return release_notes(release, parse_tags(tags(args.repo)), args.image, args.library)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m lib_version.release", description=__doc__)
    main.add_argument("--repo", type=Path, default=Path(), help="git work tree (default: .)")
    commands = main.add_subparsers(required=True, dest="command")

    nxt = commands.add_parser("next", help="the next version from commit messages")
    nxt.add_argument("--prerelease", action="store_true", help="the next vX.Y.Z-beta.N")
    nxt.set_defaults(run=_next)

    tag = commands.add_parser("tag", help="the release a pushed tag asks for")
    tag.add_argument("tag")
    tag.set_defaults(run=_tag)

    latest = commands.add_parser(
        "latest", help='whether a release, published now, becomes the "latest" release'
    )
    latest.add_argument("--tag", required=True, help="the release being published")
    latest.add_argument(
        "--current", default="", help="the tag of the latest release so far (default: none)"
    )
    latest.set_defaults(run=_latest)

    image = commands.add_parser("image", help="image references and OCI labels of a version")
    image.add_argument("--tag", required=True, help="vX.Y.Z or vX.Y.Z-beta.N")
    image.add_argument("--image", required=True, help="registry/owner/name, no tag")
    image.add_argument("--revision", required=True, help="the commit the image is built from")
    image.add_argument("--created", required=True, help="RFC 3339 time of that commit")
    image.add_argument("--source", required=True, help="URL of the repository")
    image.add_argument("--licenses", required=True, help="SPDX licence expression")
    image.set_defaults(run=_image)

    notes = commands.add_parser("notes", help="Markdown head of the GitHub Release notes")
    notes.add_argument("--tag", required=True)
    notes.add_argument("--previous", default="", help="the previous release tag, if any")
    notes.add_argument("--bump", default="", choices=["", *(str(b) for b in Bump)])
    notes.add_argument("--image", action="append", default=[], help="registry/owner/name")
    notes.add_argument("--library", action="append", default=[], help="a PyPI distribution")
    notes.set_defaults(run=_notes)
    return main


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parser()
    args = arguments.parse_args(argv)
    try:
        print(args.run(args), end="")
    except (InvalidTagError, GitError) as exc:
        arguments.error(str(exc))
