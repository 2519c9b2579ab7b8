"""The head of a GitHub Release's notes; GitHub appends the merged pull requests below it."""

from collections.abc import Iterable, Sequence

from lib_version.release.plan import Release, image_tags
from lib_version.release.versions import Version


def release_notes(
    release: Release,
    versions: Iterable[Version],
    images: Sequence[str],
    libraries: Sequence[str],
) -> str:
    version = release.version
    known = list(versions)
    since = f" since {release.previous.tag}" if release.previous else ""
    why = f"a {release.bump} bump from the commit messages{since}" if release.bump else "its tag"
    kind = "Pre-release" if version.is_prerelease else "Release"
    index = "TestPyPI" if version.is_prerelease else "PyPI"
    lines = [f"{kind} {version.tag}, chosen by {why}.", "", "## Images", ""]
    lines += ["| image | tags |", "|---|---|"]
    for image in images:
        tags = ", ".join(f"`{tag}`" for tag in image_tags(version, known))
        lines.append(f"| `{image.lower()}` | {tags} |")
    lines += ["", f"## Python libraries ({index})", ""]
    lines += [f"- `{library}=={version.pep440}`" for library in libraries]
    return "\n".join(lines) + "\n"
