"""The model release asset: a byte-reproducible .tar.gz with the artifact directories at its
top (what model-service loads from PHISHLINE_MODEL_URL), metrics.json (the evaluate stage's
metrics per model) and MODEL_CARD.md. Refuses to package models the release gate refuses.

`python -m model_training.release_bundle --release vX.Y.Z --out dist/phishline-models.tar.gz`
"""

import argparse
import gzip
import io
import json
import tarfile
from pathlib import Path

from lib_ml import ArtifactError, find_artifacts, read_artifact
from lib_ml.artifact import MANIFEST
from model_training.config import Paths, load_params, project_root
from model_training.model_card import model_card
from model_training.release_gate import GateResult, evaluate_gate

ASSET_NAME = "phishline-models.tar.gz"


class ReleaseRefusedError(RuntimeError):
    """The models must not be released (the gate refused them, or they are incomplete)."""


def _write_tar(out: Path, files: dict[str, bytes]) -> None:
    """Same files, same bytes: sorted members, no timestamps, owners or modes of this machine."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        out.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o644, 0
            tar.addfile(info, io.BytesIO(files[name]))


def build_bundle(out: Path, release: str, root: Path | None = None) -> GateResult:
    root = root or project_root()
    gate = evaluate_gate(root)
    if not gate.passed:
        raise ReleaseRefusedError(gate.report())
    paths = Paths(root)
    files: dict[str, bytes] = {}
    manifests, metrics = {}, {}
    try:  # sha256-verified, and no broken artifact left out: nothing tampered or partial ships
        artifacts = {d: read_artifact(d) for d in find_artifacts(paths.models)}
    except ArtifactError as exc:
        raise ReleaseRefusedError(str(exc)) from exc
    for directory, artifact in artifacts.items():
        name = artifact.name
        if name in manifests:  # model-service refuses to load two models of one name
            raise ReleaseRefusedError(f"two artifacts under {paths.models} are both named {name!r}")
        # Only what model.json vouches for ships: the manifest and its sha256-listed weights.
        for file_name in [MANIFEST, *artifact.manifest["files"]]:
            files[f"{directory.name}/{file_name}"] = (directory / file_name).read_bytes()
        manifests[name] = artifact.manifest
        metrics_file = paths.metrics / f"{name}.json"
        if not metrics_file.is_file():
            raise ReleaseRefusedError(f"{name} has no metrics ({metrics_file}): run `dvc repro`")
        metrics[name] = json.loads(metrics_file.read_text(encoding="utf-8"))
        evaluated = str(metrics[name].get("model", {}).get("manifest_sha256"))
        if evaluated != artifact.manifest_sha256:  # a model retrained or replaced since
            raise ReleaseRefusedError(
                f"{metrics_file} are not the metrics of {directory / MANIFEST} (sha256 "
                f"{evaluated:.12} there, {artifact.manifest_sha256:.12} here): run `dvc repro`"
            )
    if gate.model not in manifests:
        raise ReleaseRefusedError(f"the gated model {gate.model} is not under {paths.models}")
    sources = [source["name"] for source in load_params(root)["data"]["sources"]]
    card = model_card(release, manifests, metrics, gate, sources)
    files["metrics.json"] = (json.dumps(metrics, indent=2, sort_keys=True) + "\n").encode()
    files["MODEL_CARD.md"] = card.encode()
    _write_tar(out, files)
    return gate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--release", required=True, help="the release it belongs to, e.g. v1.2.3")
    parser.add_argument("--out", type=Path, default=Path("dist") / ASSET_NAME)
    args = parser.parse_args(argv)
    try:
        gate = build_bundle(args.out, args.release)
    except ReleaseRefusedError as exc:
        raise SystemExit(f"model release refused:\n{exc}") from exc
    print(gate.report())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
