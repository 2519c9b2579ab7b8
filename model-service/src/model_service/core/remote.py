"""Models published as a release asset: a .tar.gz of artifact dirs, downloaded and extracted
once per archive content into a cache dir."""

import fcntl
import hashlib
import logging
import os
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from lib_ml import ArtifactError, find_artifacts
from model_service.core.errors import ModelLoadError

logger = logging.getLogger(__name__)

# Far above any artifact set: stops a runaway download, and an archive that expands to more
# (a small archive of zeros can fill the cache volume).
MAX_ARCHIVE_BYTES = 1 << 30
DOWNLOAD_TIMEOUT_SECONDS = 60.0  # for each connect, read and write
# The whole download: a server trickling bytes faster than the timeout above would otherwise
# keep it (and the start-up, or the reload lock and every reload waiting behind it) for hours.
# Checked as bytes arrive, so it may be overrun by one DOWNLOAD_TIMEOUT_SECONDS.
DOWNLOAD_DEADLINE_SECONDS = 600.0
STAGING_PREFIX = ".download-"


class ModelSourceError(ModelLoadError):
    """The model archive cannot be downloaded or is not a safe, readable .tar.gz."""


# An http(s) URL: its userinfo, and its query or fragment (where a signed or pre-authorized
# download URL keeps its token, as the object store a release asset redirects to does).
_URL = re.compile(r"(https?://)([^\s/?#@'\"]*@)?([^\s?#'\"]*)([?#][^\s'\"]*)?")


def without_url_secrets(text: str) -> str:
    """`text` with the userinfo and the query of every http(s) URL in it replaced by
    `[redacted]`: what is logged, and returned by an admin reload, must not hand out the
    credentials a model URL may carry."""

    def redact(url: re.Match[str]) -> str:
        scheme, userinfo, location, query = url.groups()
        return "".join((
            scheme, "[redacted]@" if userinfo else "", location, "?[redacted]" if query else ""
        ))  # fmt: skip

    return _URL.sub(redact, text)


def fetch_models(url: str, cache_dir: Path) -> Path:
    """Download the archive at url and return the directory holding its artifact dirs."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_downloads(cache_dir)
    with _staging_dir(cache_dir) as staging:
        archive = staging / "models.tar.gz"
        digest = _download(url, archive)
        target = cache_dir / digest
        if not target.is_dir():
            extracted = staging / "extracted"
            _extract(archive, extracted)
            # Checked in staging, so that a refused archive never enters the cache.
            _artifact_root(extracted)
            # Extraction happens in staging and is renamed into place, so a crash never leaves
            # a half-extracted directory that a later start would trust.
            try:
                extracted.rename(target)
            except OSError:
                if not target.is_dir():
                    raise
    logger.info("models fetched", extra={"url": without_url_secrets(url), "directory": str(target)})
    return _artifact_root(target)


@contextmanager
def _staging_dir(cache_dir: Path) -> Iterator[Path]:
    """A new directory in cache_dir, locked while in use: a process killed halfway leaves it
    behind (up to a whole archive), and the lock tells a later fetch that nobody owns it."""
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=STAGING_PREFIX) as staging_name:
        descriptor = os.open(staging_name, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield Path(staging_name)
        finally:
            os.close(descriptor)


def _remove_abandoned_downloads(cache_dir: Path) -> None:
    """Remove the staging directories of processes that died (no lock on them); those of
    downloads in progress, in this process or another sharing the cache, stay."""
    for staging in cache_dir.glob(f"{STAGING_PREFIX}*"):
        try:
            descriptor = os.open(staging, os.O_RDONLY)
        except OSError:  # removed meanwhile by its owner
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(staging, ignore_errors=True)
        except BlockingIOError:  # a download in progress
            pass
        finally:
            os.close(descriptor)


def _download(url: str, destination: Path) -> str:
    """Stream url into destination; returns the sha256 of the content.

    The bytes are taken as sent, never decoded: the archive is compressed already, an object
    store may label it Content-Encoding: gzip, and a decoded chunk could be any size (a
    thousand bytes of brotli make gigabytes) before the size check sees it."""
    digest = hashlib.sha256()
    size = 0
    deadline = time.monotonic() + DOWNLOAD_DEADLINE_SECONDS
    shown = without_url_secrets(url)
    try:
        with (
            httpx.stream(
                "GET",
                url,
                headers={"Accept-Encoding": "identity"},
                follow_redirects=True,
                timeout=DOWNLOAD_TIMEOUT_SECONDS,
            ) as reply,
            destination.open("wb") as out,
        ):
            reply.raise_for_status()
            for chunk in reply.iter_raw():
                size += len(chunk)
                if size > MAX_ARCHIVE_BYTES:
                    raise ModelSourceError(f"{shown} is larger than {MAX_ARCHIVE_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise ModelSourceError(
                        f"{shown} was not downloaded within {DOWNLOAD_DEADLINE_SECONDS} s"
                    )
                digest.update(chunk)
                out.write(chunk)
    except httpx.HTTPError as exc:
        # httpx names the URL that failed, which may be a redirect's signed target, and may add
        # a line pointing at documentation.
        reason = without_url_secrets(next(iter(str(exc).splitlines()), ""))
        raise ModelSourceError(f"cannot download the models from {shown}: {reason}") from exc
    return digest.hexdigest()


def _extract(archive: Path, destination: Path) -> None:
    """Extract plain files and directories only, with tarfile's "data" filter (no absolute
    paths, no `..`, no devices) and at most MAX_ARCHIVE_BYTES in all; any other member fails
    the whole archive. Artifacts hold no links, so none is accepted: the data filter's own
    link checks could be bypassed with links longer than PATH_MAX (CVE-2025-4517)."""
    extracted_bytes = 0

    def plain_members(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        nonlocal extracted_bytes
        if not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"{member.name!r} is a link or a special file")
        extracted_bytes += member.size
        if extracted_bytes > MAX_ARCHIVE_BYTES:
            raise tarfile.TarError(f"it expands to more than {MAX_ARCHIVE_BYTES} bytes")
        return tarfile.data_filter(member, path)

    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(destination, filter=plain_members)  # noqa: S202  # the data filter and more
    # EOFError: the gzip stream ends early (an archive cut short).
    except (tarfile.TarError, OSError, EOFError) as exc:
        shutil.rmtree(destination, ignore_errors=True)
        raise ModelSourceError(f"the model archive is not a safe, readable .tar.gz: {exc}") from exc


def _artifact_root(extracted: Path) -> Path:
    """Archives hold the artifact dirs either at the top or inside one wrapping folder."""
    try:
        if find_artifacts(extracted):
            return extracted
        children = [child for child in extracted.iterdir() if child.is_dir()]
        if len(children) == 1 and find_artifacts(children[0]):
            return children[0]
    except ArtifactError as exc:
        raise ModelSourceError(f"the model archive holds a broken artifact: {exc}") from exc
    raise ModelSourceError(f"the model archive holds no model artifacts ({extracted})")
