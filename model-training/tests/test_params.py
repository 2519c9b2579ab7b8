"""params.yaml against its schema (model_training.params): what the stages would trip over
deep inside a fit is refused up front, in one message naming each key."""

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from model_training.config import ParamsError, Paths, load_params
from model_training.prepare import prepare

from .conftest import REPO

Params = dict[str, Any]


def repo_params() -> Params:
    params: Params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    return params


def test_the_repository_params_load_as_written(tmp_path: Path) -> None:
    text = (REPO / "params.yaml").read_text(encoding="utf-8")
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    loaded = load_params(tmp_path)
    assert loaded == yaml.safe_load(text)
    # Nothing converted or added: the manifests record these values as written.
    assert loaded["train"]["ensemble"]["tld_smoothing"] == 20
    assert isinstance(loaded["train"]["ensemble"]["tld_smoothing"], int)
    assert "num_threads" not in loaded["train"]["ensemble"]["view"]
    assert list(loaded["train"]["linear"]) == list(yaml.safe_load(text)["train"]["linear"])


def _set(*keys: str | int, value: Any) -> Callable[[Params], None]:
    def change(params: Params) -> None:
        *path, last = keys
        node: Any = params
        for key in path:
            node = node[key]
        node[last] = value

    return change


def _drop(*keys: str) -> Callable[[Params], None]:
    def change(params: Params) -> None:
        *path, last = keys
        node: Any = params
        for key in path:
            node = node[key]
        del node[last]

    return change


FILE = ("data", "sources", 0, "files", 0)
MISTAKES: dict[str, tuple[Callable[[Params], None], str]] = {
    # counts below what a fit runs with (SGD never fitted, no out-of-fold rows, no thread)
    "no epoch": (
        _set("train", "linear", "epochs", value=0),
        "train.linear.epochs: Input should be greater than or equal to 1 (got 0)",
    ),
    "empty chunks": (_set("train", "linear", "chunk_size", value=0), "train.linear.chunk_size:"),
    "one fold": (
        _set("train", "ensemble", "folds", value=1),
        "train.ensemble.folds: Input should be greater than or equal to 2 (got 1)",
    ),
    "no worker": (_set("train", "ensemble", "workers", value=0), "train.ensemble.workers:"),
    "missing key": (_drop("train", "linear", "alpha"), "train.linear.alpha: Field required"),
    "misspelt key": (
        _set("train", "gbm", "num_leafs", value=31),
        "train.gbm.num_leafs: not a key of params.yaml (misspelt?)",
    ),
    "misspelt section": (_set("trian", value={}), "trian: not a key of params.yaml"),
    "YAML 1.1 exponent": (
        _set("train", "linear", "alpha", value="1e-6"),
        "train.linear.alpha: Input should be a valid number (got '1e-6'); write a number with "
        "a dot and a signed exponent, e.g. 1.0e-6",
    ),
    "boolean count": (
        _set("train", "gbm", "num_leaves", value=True),
        "train.gbm.num_leaves: Input should be a valid integer (got True)",
    ),
    "quoted count": (_set("train", "gbm", "num_boost_round", value="10"), "(got '10')"),
    "share above 1": (_set("train", "gbm", "feature_fraction", value=1.5), "feature_fraction:"),
    "n-gram range": (
        _set("train", "linear", "ngram_min", value=6),
        "train.linear: n-gram orders 6..5 are not a range",
    ),
    "view buckets": (
        _set("train", "ensemble", "view", "hash_bits", value=40),
        "train: the ensemble's host view: hash_bits must be within 1..31, not 40",
    ),
    "unknown family": (
        _set("train", "families", value=["linear", "lstm"]),
        "train.families.1: 'lstm' is not one of ('linear', 'gbm', 'ensemble')",
    ),
    "family without its section": (
        _drop("train", "gbm"),
        "train: family gbm needs the section train.gbm",
    ),
    "view twice": (
        _set("train", "ensemble", "views", value=["url", "host", "url"]),
        "train.ensemble: views ['url', 'host', 'url'] name a view twice",
    ),
    "unknown view": (_set("train", "ensemble", "views", value=["html"]), "'html' is not one of"),
    "model version as a number": (
        _set("train", "model_version", value=1.0),
        "train.model_version: Input should be a valid string (got 1.0)",
    ),
    "fractions fill the data": (
        _set("prepare", "val_fraction", value=0.85),
        "prepare: val_fraction (0.85) and test_fraction (0.15) must add up to less than 1",
    ),
    "negative fraction": (_set("prepare", "test_fraction", value=-0.1), "prepare.test_fraction:"),
    "unknown format": (
        _set(*FILE, "format", value="xml"),
        "data.sources.0.files.0.format: 'xml' is not one of ('ebbu', 'dl', 'csv')",
    ),
    "unknown label": (_set(*FILE, "label", value="spam"), "data.sources.0.files.0.label:"),
    "absolute path": (
        _set(*FILE, "path", value="/srv/feedback.txt"),
        "data.sources.0.files.0: /srv/feedback.txt: a path must be relative to the data mirror",
    ),
    "path up and out": (_set(*FILE, "path", value="../feedback.txt"), "relative to the data"),
    "path up in the middle": (_set(*FILE, "path", value="a/../../b.txt"), "relative to the"),
    "short sha256": (_set(*FILE, "sha256", value="abc"), "data.sources.0.files.0.sha256:"),
    "external format": (
        _set("evaluate", "external", 0, "format", value="tsv"),
        "evaluate.external.0.format: 'tsv' is not one of",
    ),
}


@pytest.mark.parametrize(("change", "said"), MISTAKES.values(), ids=MISTAKES)
def test_a_mistake_in_params_is_refused_by_key(
    tmp_path: Path, change: Callable[[Params], None], said: str
) -> None:
    params = repo_params()
    change(params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    with pytest.raises(ParamsError) as refused:
        load_params(tmp_path)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'params.yaml'}: ")
    assert said in message
    assert "\n" not in message


def test_every_mistake_is_named_at_once(tmp_path: Path) -> None:
    params = copy.deepcopy(repo_params())
    params["train"]["linear"]["epochs"] = 0
    params["prepare"]["seed"] = "42"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"prepare.seed: .*; train.linear.epochs: "):
        load_params(tmp_path)


def test_sections_are_optional_and_each_is_checked_alone(tmp_path: Path) -> None:
    only_prepare = {"prepare": {"seed": 1, "val_fraction": 0.2, "test_fraction": 0.2}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(only_prepare), encoding="utf-8")
    assert load_params(tmp_path) == only_prepare
    # A family's section is needed only when the family is trained.
    only_gbm = {"train": {**repo_params()["train"], "families": ["gbm"]}}
    del only_gbm["train"]["linear"], only_gbm["train"]["ensemble"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(only_gbm), encoding="utf-8")
    assert load_params(tmp_path) == only_gbm


def test_a_stage_refuses_before_it_writes(tmp_path: Path) -> None:
    params = {"prepare": {"seed": 3, "val_fraction": 0.5, "test_fraction": 0.5}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    with pytest.raises(ParamsError, match="must add up to less than 1"):
        prepare(tmp_path)
    assert not Paths(tmp_path).prepared.exists()
