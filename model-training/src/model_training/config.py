"""Paths and parameters of the pipeline. Every stage reads `params.yaml` through here."""

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from model_training.params import params_problems

MIRROR_ENV = "PHISHLINE_DATA_MIRROR"
# Reproducible builds' convention: the moment a build records, in seconds since the epoch.
SOURCE_DATE_ENV = "SOURCE_DATE_EPOCH"


@dataclass(frozen=True)
class Paths:
    """Where the stages read and write, relative to the project root (DVC's working dir)."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def prepared(self) -> Path:
        return self.root / "data" / "prepared"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def metrics(self) -> Path:
        return self.root / "reports" / "metrics"

    @property
    def plots(self) -> Path:
        return self.root / "reports" / "plots"

    @property
    def training_times(self) -> Path:
        return self.root / "reports" / "training.json"


class ProjectNotFoundError(FileNotFoundError):
    """The working directory is not inside a phishline project (no params.yaml up the tree)."""


class ParamsError(ValueError):
    """A value of params.yaml that the stages cannot run with."""


def project_root() -> Path:
    """The directory holding params.yaml: the working directory, or its nearest parent."""
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "params.yaml").is_file():
            return candidate
    raise ProjectNotFoundError(
        f"no phishline project here: neither {here} nor a parent directory holds params.yaml; "
        "run this inside a phishline checkout"
    )


def load_params(root: Path | None = None) -> dict[str, Any]:
    """params.yaml as written, once it holds what `model_training.params` allows."""
    path = (root or project_root()) / "params.yaml"
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:  # a slip in editing it: where, in one line
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ParamsError(
            f"{path} is not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"
        ) from exc
    if not isinstance(params, dict):
        raise ParamsError(f"{path} must hold a mapping")
    if problems := params_problems(params):
        raise ParamsError(f"{path}: {'; '.join(problems)}")
    return params


def mirror_directory(params: dict[str, Any], root: Path) -> Path:
    """The local data mirror: PHISHLINE_DATA_MIRROR, else params data.mirror (root-relative)."""
    configured = os.environ.get(MIRROR_ENV) or params.get("data", {}).get("mirror")
    if not configured:
        raise ParamsError(f"no data mirror: set {MIRROR_ENV} or data.mirror in params.yaml")
    path = Path(configured)
    return path if path.is_absolute() else (root / path).resolve()


def build_time() -> str:
    """Build time, or SOURCE_DATE_EPOCH when set: the `created` of the artifacts."""
    epoch = os.environ.get(SOURCE_DATE_ENV)
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.isoformat(timespec="seconds")


def source_date_epoch(created: str) -> int:
    """The SOURCE_DATE_EPOCH at which a build records `created` (`build_time`'s inverse)."""
    return int(datetime.fromisoformat(created).timestamp())
