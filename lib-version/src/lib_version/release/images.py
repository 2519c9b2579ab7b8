"""Image references and OCI labels for docker/build-push-action (what docker/metadata-action
would compute, from the release rules of this package instead of its own)."""

from collections.abc import Iterable
from dataclasses import dataclass

from lib_version.release.plan import image_tags
from lib_version.release.versions import Version


@dataclass(frozen=True)
class ImageMetadata:
    refs: list[str]  # registry/name:tag, one per tag
    labels: dict[str, str]


def image_metadata(
    image: str,
    version: Version,
    versions: Iterable[Version],
    *,
    revision: str,
    created: str,
    source: str,
    licenses: str,
) -> ImageMetadata:
    # Registries (GHCR among them) accept lower-case repository names only; owners may not be.
    name = image.lower()
    title = name.rsplit("/", 1)[-1]
    labels = {
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.version": str(version),
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.source": source,
        "org.opencontainers.image.url": source,
        "org.opencontainers.image.licenses": licenses,
    }
    return ImageMetadata([f"{name}:{tag}" for tag in image_tags(version, versions)], labels)
