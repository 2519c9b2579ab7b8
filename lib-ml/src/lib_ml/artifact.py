"""The model artifact format: a directory with `model.json` and `.npz` weight files.

Loading never executes code: `.npz` files are read with `allow_pickle=False` and every file
is checked against the sha256 recorded in `model.json` before it is parsed.
"""

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lib_ml.drift import check_reference

# 2: trees carry their ONNX model; ensembles stack views' logits into the trees.
FORMAT_VERSION = 2
MANIFEST = "model.json"


# The JSON type of each required model.json value (bool is refused where a number is due).
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "format_version": (int,), "name": (str,), "family": (str,), "version": (str,),
    "created": (str,), "training_data_sha256": (str,), "params": (dict,), "metrics": (dict,),
    "label_map": (dict,), "threshold": (int, float), "featurizer": (dict,),
    "feature_distributions": (dict,), "files": (dict,),
}  # fmt: skip
REQUIRED_KEYS = tuple(FIELD_TYPES)
# Model names are request values, metric labels and directory names.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

Arrays = dict[str, npt.NDArray[Any]]


class ArtifactError(Exception):
    """The directory is not a readable model artifact."""


class TamperedArtifactError(ArtifactError):
    """A weight file does not match the sha256 recorded in model.json."""


@dataclass(frozen=True)
class Artifact:
    manifest: dict[str, Any]
    weights: dict[str, Arrays]  # weight file name -> its arrays
    # model.json lists every weight file's sha256, so its own sha256 names the whole artifact.
    manifest_sha256: str

    @property
    def name(self) -> str:
        return str(self.manifest["name"])


def write_artifact(
    directory: Path, manifest: Mapping[str, Any], weights: Mapping[str, Arrays]
) -> Path:
    """Write weight files, then model.json with their sha256 (written last, atomically).

    Everything is checked before the first byte is written: a refused manifest leaves an
    artifact already in the directory as it was, not new weights under its old model.json.
    """
    contents: dict[str, bytes] = {}
    for file_name, arrays in weights.items():
        if not file_name.endswith(".npz") or "/" in file_name:
            raise ArtifactError(f"weight files are flat .npz files, not {file_name!r}")
        contents[file_name] = _npz_bytes(arrays)
    files = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
    full = {**manifest, "format_version": FORMAT_VERSION, "files": files}
    check_manifest(full, directory / MANIFEST)  # never write what read_artifact refuses
    try:
        text = json.dumps(full, indent=2, sort_keys=True, allow_nan=False)
    except ValueError as exc:
        raise ArtifactError(f"{directory / MANIFEST} would hold a non-finite number") from exc
    directory.mkdir(parents=True, exist_ok=True)
    for file_name, data in contents.items():
        (directory / file_name).write_bytes(data)
    staging = directory / f".{MANIFEST}.tmp"
    staging.write_text(text + "\n", encoding="utf-8")
    staging.replace(directory / MANIFEST)
    return directory


def _npz_bytes(arrays: Arrays) -> bytes:
    """Like np.savez_compressed, but byte-reproducible: fixed member timestamps and order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            array_bytes = io.BytesIO()
            np.lib.format.write_array(
                array_bytes, np.ascontiguousarray(arrays[key]), allow_pickle=False
            )
            member = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, array_bytes.getvalue())
    return buffer.getvalue()


def read_manifest(directory: Path) -> dict[str, Any]:
    return _manifest_and_sha256(directory)[0]


def _manifest_and_sha256(directory: Path) -> tuple[dict[str, Any], str]:
    path = directory / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{directory} is not a model artifact: {MANIFEST} is missing")
    content = path.read_bytes()
    try:
        manifest = json.loads(content.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path} must hold a JSON object")
    check_manifest(manifest, path)
    return manifest, hashlib.sha256(content).hexdigest()


def _refuse_constant(name: str) -> None:
    # Python's json reads NaN and Infinity, which JSON itself does not have: a NaN metric
    # would reach clients as null where a number is promised.
    raise ValueError(f"{name} is not a JSON number")


def check_manifest(manifest: Mapping[str, Any], path: Path) -> None:
    """Raise ArtifactError unless manifest has every key with its type and sane values."""
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    if missing:
        raise ArtifactError(f"{path} lacks the keys {missing}")
    for key, expected in FIELD_TYPES.items():
        value = manifest[key]
        if isinstance(value, bool) or not isinstance(value, expected):
            raise ArtifactError(
                f"{path}: {key!r} must be {' or '.join(t.__name__ for t in expected)}, "
                f"not {type(value).__name__} ({value!r:.60})"
            )
    if manifest["format_version"] != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format_version {manifest['format_version']!r}; "
            f"this lib-ml reads version {FORMAT_VERSION}"
        )
    if not MODEL_NAME.fullmatch(manifest["name"]):
        raise ArtifactError(
            f"{path}: 'name' must be 1 to 64 letters, digits, '.', '_' or '-', beginning with "
            f"a letter or digit, not {manifest['name']!r:.70}"
        )
    if not 0.0 <= manifest["threshold"] <= 1.0:
        raise ArtifactError(
            f"{path}: 'threshold' must be a probability, not {manifest['threshold']}"
        )
    try:
        check_reference(manifest["feature_distributions"])
    except ValueError as exc:
        raise ArtifactError(f"{path}: 'feature_distributions': {exc}") from exc


def read_artifact(directory: Path) -> Artifact:
    """Read and verify an artifact; raises ArtifactError / TamperedArtifactError."""
    directory = Path(directory)
    manifest, manifest_sha256 = _manifest_and_sha256(directory)
    weights: dict[str, Arrays] = {}
    for file_name, expected in dict(manifest["files"]).items():
        path = directory / file_name
        if Path(file_name).name != file_name or not path.is_file():
            raise ArtifactError(f"weight file {file_name!r} listed in {MANIFEST} is missing")
        # Read once: the bytes parsed are the bytes verified, even if the file is replaced.
        content = path.read_bytes()
        actual = hashlib.sha256(content).hexdigest()
        if actual != expected:
            raise TamperedArtifactError(
                f"refusing to load {path}: sha256 {actual} does not match {expected} "
                f"recorded in {MANIFEST} (the file was modified or corrupted)"
            )
        try:
            with np.load(io.BytesIO(content), allow_pickle=False) as npz:
                weights[file_name] = {key: npz[key] for key in npz.files}
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise ArtifactError(f"{path} is not a readable .npz file: {exc}") from exc
    return Artifact(manifest=manifest, weights=weights, manifest_sha256=manifest_sha256)


def find_artifacts(root: Path) -> list[Path]:
    """Artifact directories directly under root (or root itself), sorted by name.

    A directory of weight files without its model.json is a broken artifact, refused rather
    than skipped: skipped, its model would silently go missing from what is served or shipped.
    """
    root = Path(root)
    if (root / MANIFEST).is_file():
        return [root]
    if not root.is_dir():
        return []
    found = []
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        if (directory / MANIFEST).is_file():
            found.append(directory)
        elif any(directory.glob("*.npz")):
            raise ArtifactError(f"{directory} holds weight files but no {MANIFEST}")
    return found
