"""Stage get_data: put the pinned raw files under data/raw, verified by sha256.

Each file comes from the local mirror when it is there (PHISHLINE_DATA_MIRROR or params
data.mirror), else from its pinned public URL. Raw files are never modified afterwards.
"""

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from model_training.config import Paths, load_params, mirror_directory, project_root

RAW_MANIFEST = "sources.json"


class DataUnavailableError(RuntimeError):
    """A raw file is neither in the mirror nor downloadable."""


@dataclass(frozen=True)
class RawFile:
    path: str  # relative to the mirror and to data/raw
    format: str
    label: str | None
    sha256: str | None
    url: str | None

    @classmethod
    def from_params(cls, raw: dict[str, Any]) -> "RawFile":
        """A file of params `data.sources` (checked by `model_training.params`)."""
        return cls(raw["path"], raw["format"], raw.get("label"), raw.get("sha256"), raw.get("url"))


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _verified(raw: RawFile, payload: bytes, origin: str) -> bytes:
    if raw.sha256 and _sha256(payload) != raw.sha256:
        raise DataUnavailableError(
            f"{raw.path} from {origin} has sha256 {_sha256(payload)}, expected {raw.sha256}"
        )
    return payload


def fetch(raw: RawFile, mirror: Path, timeout: float = 60.0) -> tuple[bytes, str]:
    """The verified bytes of one raw file and where they came from."""
    local = mirror / raw.path
    if local.is_file():
        return _verified(raw, local.read_bytes(), str(local)), "mirror"
    if not raw.url:
        raise DataUnavailableError(f"{raw.path} is not in the mirror {mirror} and has no URL")
    try:
        response = httpx.get(raw.url, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise DataUnavailableError(
            f"cannot get {raw.path}: it is not in the local mirror {mirror} and downloading "
            f"{raw.url} failed ({exc}). Offline? Point PHISHLINE_DATA_MIRROR (or data.mirror "
            f"in params.yaml) at a directory that holds {raw.path}."
        ) from exc
    return _verified(raw, response.content, raw.url), "download"


def get_data(root: Path | None = None) -> list[dict[str, Any]]:
    """Run the stage; returns the entries written to data/raw/sources.json."""
    root = root or project_root()
    params = load_params(root)
    mirror = mirror_directory(params, root)
    paths = Paths(root)
    # Every file is fetched and verified before data/raw is replaced: a missing or corrupt
    # file then leaves the raw data of the last run whole, not a part of it without manifest.
    fetched = [
        (source["name"], raw, *fetch(raw, mirror))
        for source in params["data"]["sources"]
        for raw in (RawFile.from_params(spec) for spec in source["files"])
    ]
    if paths.raw.exists():
        shutil.rmtree(paths.raw)
    entries = []
    for name, raw, payload, origin in fetched:
        target = paths.raw / raw.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
        target.chmod(0o444)  # raw data is immutable
        entries.append(
            {
                "source": name,
                "path": raw.path,
                "format": raw.format,
                "label": raw.label,
                "sha256": _sha256(payload),
                "origin": origin,
            }
        )
    (paths.raw / RAW_MANIFEST).write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    return entries


def main() -> None:
    for entry in get_data():
        print(f"{entry['path']}: {entry['origin']} ({entry['sha256'][:12]})")


if __name__ == "__main__":
    main()
