"""get_data → prepare → train → evaluate on a small real sample, in a throwaway project."""

import contextlib
import hashlib
import http.server
import json
import re
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from lib_ml import Predictor, normalize_url, registered_domain
from lib_ml.artifact import read_manifest
from model_training.config import (
    MIRROR_ENV,
    SOURCE_DATE_ENV,
    ParamsError,
    Paths,
    ProjectNotFoundError,
    load_params,
    mirror_directory,
    project_root,
    source_date_epoch,
)
from model_training.evaluate import evaluate
from model_training.evaluate import main as evaluate_main
from model_training.get_data import DataUnavailableError, RawFile, fetch, get_data
from model_training.get_data import main as get_data_main
from model_training.prepare import SPLITS, clean, grouped_split, prepare
from model_training.prepare import main as prepare_main
from model_training.refit_check import refit_report
from model_training.sources import Example, read_dl
from model_training.train import (
    Split,
    UnusableSplitError,
    build_models,
    domain_folds,
    load_split,
    out_of_fold_tld_prior,
    train,
    train_families,
)

from .conftest import REPO, digests


def write_project(root: Path, mirror: Path, ebbu: dict[str, list[str]]) -> None:
    """A project dir with params.yaml pointing at a small mirror of real URLs."""
    files = []
    for label, urls in ebbu.items():
        path = mirror / "ebbu2017" / f"data_{label}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(urls + urls[:50]).encode()  # duplicates on purpose
        path.write_bytes(payload)
        files.append({
            "path": f"ebbu2017/data_{label}.json", "format": "ebbu", "label": label,
            "url": "http://127.0.0.1:9/unreachable", "sha256": hashlib.sha256(payload).hexdigest(),
        })  # fmt: skip
    params = load_params(REPO)
    params["data"] = {"mirror": str(mirror), "sources": [{"name": "ebbu", "files": files}]}
    params["train"]["linear"]["hash_bits"] = 16
    # One thread: on a few thousand rows OpenMP's spin-up costs more than it saves.
    params["train"]["gbm"]["num_threads"] = 1
    params["evaluate"]["external"] = [
        {"name": "again", "format": "dl", "paths": ["external/sample.txt"]}
    ]
    (mirror / "external").mkdir()
    lines = [f"phishing\t{u}" for u in ebbu["phishing"][:100]]
    lines += [f"legitimate\t{u}" for u in ebbu["legitimate"][:100]]
    (mirror / "external" / "sample.txt").write_text("\n".join(lines) + "\n")
    (root / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, ebbu_sample: dict[str, list[str]]) -> Path:
    root = tmp_path_factory.mktemp("project")
    write_project(root, tmp_path_factory.mktemp("mirror"), ebbu_sample)
    get_data(root)
    prepare(root)
    train(root)
    evaluate(root)
    return root


def test_raw_files_are_verified_and_read_only(project: Path) -> None:
    entries = json.loads((Paths(project).raw / "sources.json").read_text())
    assert {e["origin"] for e in entries} == {"mirror"}
    for entry in entries:
        path = Paths(project).raw / entry["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        assert not path.stat().st_mode & 0o222


def test_splits_share_no_url_and_no_registered_domain(project: Path) -> None:
    splits = {name: list(read_dl(Paths(project).prepared / f"{name}.txt")) for name in SPLITS}
    domains = {name: {registered_domain(e.url) for e in ex} for name, ex in splits.items()}
    urls = {name: {e.url for e in ex} for name, ex in splits.items()}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not domains[a] & domains[b]
        assert not urls[a] & urls[b]
    stats = json.loads((Paths(project).prepared / "stats.json").read_text())
    assert stats["counts"]["duplicate"] >= 100
    total = sum(s["urls"] for s in stats["splits"].values())
    assert total == stats["counts"]["kept"]
    assert 0.1 < stats["splits"]["test"]["urls"] / total < 0.25


def test_models_are_trained_and_evaluated(project: Path) -> None:
    for family in ("linear", "gbm", "ensemble"):
        predictor = Predictor.load(Paths(project).models / family)
        assert predictor.family == family
        assert 0.0 < predictor.threshold < 1.0
        metrics = json.loads((Paths(project).metrics / f"{family}.json").read_text())
        assert metrics["roc_auc"] > 0.9, family
        assert set(metrics["slices"]) == {"scheme", "url_length", "tld_group"}
        assert metrics["external"]["again"]["n"] == 200
    for plot in ("roc", "pr", "confusion", "calibration"):
        assert json.loads((Paths(project).plots / "ensemble" / f"{plot}.json").read_text())


def test_the_stage_rebuilds_its_artifacts_byte_for_byte(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same seed and SOURCE_DATE_EPOCH at the artifacts' `created`: every file of models/ is
    the same. The times of the fits, which differ, go to reports/training.json."""
    copy = Path(
        shutil.copytree(project, tmp_path / "again", ignore=shutil.ignore_patterns("models"))
    )
    created = read_manifest(Paths(project).models / "ensemble")["created"]
    monkeypatch.setenv(SOURCE_DATE_ENV, str(source_date_epoch(created)))
    train(copy)
    assert digests(Paths(copy).models) == digests(Paths(project).models)
    times = json.loads(Paths(copy).training_times.read_text())
    assert set(times) == {"linear", "gbm", "ensemble"}
    assert all(family["seconds"] > 0 for family in times.values())


def test_refit_on_train_and_val_keeps_what_validation_chose(project: Path, tmp_path: Path) -> None:
    """params.yaml refits: the served models learn from val too, with the threshold,
    calibration and validation metrics of the models chosen on it, and the rounds early
    stopping chose scaled by the rows added."""
    params = load_params(project)["train"]
    assert params["refit"]
    prepared = Paths(project).prepared
    train_split, val_split = (load_split(prepared / f"{name}.txt") for name in ("train", "val"))
    chosen_dir = tmp_path / "chosen"
    build_models(train_split, val_split, {**params, "refit": False}, chosen_dir)
    rows = len(train_split.raw) + len(val_split.raw)
    for family in ("linear", "gbm", "ensemble"):
        chosen = json.loads((chosen_dir / family / "model.json").read_text())
        refit = json.loads((Paths(project).models / family / "model.json").read_text())
        assert (chosen["training_rows"], refit["training_rows"]) == (len(train_split.raw), rows)
        assert (chosen["refit_on_validation"], refit["refit_on_validation"]) == (False, True)
        assert refit["threshold"] == chosen["threshold"]
        assert refit["metrics"] == chosen["metrics"]
        assert refit.get("stacker") == chosen.get("stacker")
        assert refit["files"] != chosen["files"]  # new weights
        if family != "linear":
            trees = [
                np.load(d / family / "trees.npz")["roots"].size
                for d in (chosen_dir, Paths(project).models)
            ]
            assert trees[1] == round(trees[0] * rows / len(train_split.raw))
    data = (prepared / "train.txt").read_bytes() + (prepared / "val.txt").read_bytes()
    assert refit["training_data_sha256"] == hashlib.sha256(data).hexdigest()


def test_the_stage_prints_an_external_set_of_one_class_without_its_roc_auc(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    external = {"feed": {"roc_auc": None}, "dl": {"roc_auc": 0.91234}}  # a feed of phishing
    summary = {"linear": {"f1": 0.9, "roc_auc": 0.95, "ece": 0.01, "external": external}}
    monkeypatch.setattr("model_training.evaluate.evaluate", lambda: summary)
    evaluate_main()
    assert capsys.readouterr().out == (
        "   linear: test F1 0.9000 ROC AUC 0.95000 ECE 0.0100 feed ROC AUC n/a dl ROC AUC 0.9123\n"
    )


def test_refitting_needs_the_models_chosen_on_validation(project: Path) -> None:
    params = load_params(project)["train"]
    split = load_split(Paths(project).prepared / "val.txt")
    with pytest.raises(ValueError, match="chosen on validation"):
        train_families(split, None, {**params, "families": ["gbm"]})


def test_clean_counts_invalid_duplicates_and_conflicts() -> None:
    cleaned = clean([
        Example("http://a.com/x", 1), Example("HTTP://A.COM/x", 1), Example("  ", 0),
        Example("b.com", 1), Example("https://b.com", 0), Example("c.org/y", 0),
        Example("http://", 1), Example("http://shop.d.co.uk/z", 0),
        # The same URL under both labels, then again: dropped whatever the majority.
        Example("e.net/", 0), Example("e.net/", 1), Example("e.net/", 0),
    ])  # fmt: skip
    assert cleaned.examples == [
        Example("http://a.com/x", 1), Example("c.org/y", 0), Example("http://shop.d.co.uk/z", 0),
    ]  # fmt: skip
    assert cleaned.domains == ["a.com", "c.org", "d.co.uk"]
    assert dict(cleaned.counts) == {
        "read": 11, "invalid": 2, "duplicate": 4, "label_conflict": 2, "kept": 3,
    }  # fmt: skip


def test_grouped_split_is_seeded_and_keeps_domains_whole() -> None:
    domains = [f"d{i % 40}.com" for i in range(400)]
    first = grouped_split(domains, {"val": 0.2, "test": 0.2}, seed=1)
    assert {k: v.tolist() for k, v in first.items()} == {
        k: v.tolist() for k, v in grouped_split(domains, {"val": 0.2, "test": 0.2}, seed=1).items()
    }
    owner = {}
    for split, indices in first.items():
        for index in indices:
            assert owner.setdefault(domains[index], split) == split
    assert sorted(np.concatenate(list(first.values())).tolist()) == list(range(400))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("fractions", "sizes"),
    [
        # Ten domains of ten URLs: test and val stop as soon as they hold their 20 URLs.
        ({"val": 0.2, "test": 0.2}, {"train": 60, "val": 20, "test": 20}),
        # 15 URLs are a domain and a half: the split takes the second domain whole.
        ({"val": 0.15, "test": 0.15}, {"train": 60, "val": 20, "test": 20}),
        ({"val": 0.0, "test": 0.5}, {"train": 50, "val": 0, "test": 50}),
    ],
)
def test_grouped_split_fills_each_split_to_its_fraction_with_whole_domains(
    fractions: dict[str, float], sizes: dict[str, int], seed: int
) -> None:
    domains = [f"d{i % 10}.com" for i in range(100)]
    splits = grouped_split(domains, fractions, seed)
    assert {name: len(index) for name, index in splits.items()} == sizes
    assert all(index.dtype == np.int64 for index in splits.values())  # usable as an index


def write_raw(root: Path) -> None:
    """A project whose data/raw holds one file of each format, as get_data leaves it."""
    raw = Paths(root).raw
    files = {
        # Bare URLs: the manifest's label, not the file's name, gives theirs.
        "ebbu/urls.json": json.dumps(["http://a.com/x", "b.org/p", "  "]),
        "dl/train.txt": "legitimate\thttps://www.a.com/y\nlegitimate\thttp://c.net/\n"
        "phishing\tHTTP://A.COM/x\n",
        "more.csv": "url,label\nhttp://c.net/,1\nb.org/q,0\n",
    }
    for path, content in files.items():
        (raw / path).parent.mkdir(parents=True, exist_ok=True)
        (raw / path).write_text(content)
    manifest = [
        {"path": "ebbu/urls.json", "format": "ebbu", "label": "phishing"},
        {"path": "dl/train.txt", "format": "dl", "label": None},
        {"path": "more.csv", "format": "csv", "label": None},
    ]
    (raw / "sources.json").write_text(json.dumps(manifest))
    params = {"prepare": {"seed": 3, "val_fraction": 0.0, "test_fraction": 0.5}}
    (root / "params.yaml").write_text(yaml.safe_dump(params))


def test_prepare_reads_every_raw_file_and_counts_what_it_drops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_raw(tmp_path)
    stats = prepare(tmp_path)
    # 8 read; dropped: "  " (invalid), HTTP://A.COM/x and the second c.net/ (duplicates),
    # c.net/ (legitimate and phishing). Kept: a.com (www. included) and b.org, one phishing and
    # one legitimate URL each; the test split takes one domain whole (2 of 4 URLs), val none.
    assert stats["counts"] == {
        "read": 8, "invalid": 1, "duplicate": 2, "label_conflict": 1, "kept": 4,
    }  # fmt: skip
    one_domain = {"urls": 2, "phishing": 1, "legitimate": 1, "domains": 1}
    empty = {"urls": 0, "phishing": 0, "legitimate": 0, "domains": 0}
    assert stats["splits"] == {"train": one_domain, "val": empty, "test": one_domain}
    prepared = Paths(tmp_path).prepared
    written = {name: list(read_dl(prepared / f"{name}.txt")) for name in SPLITS}
    assert sorted(e.url for split in written.values() for e in split) == [
        "b.org/p", "b.org/q", "http://a.com/x", "https://www.a.com/y",
    ]  # fmt: skip
    assert {registered_domain(e.url) for e in written["train"] + written["test"]} == {
        "a.com", "b.org",
    }  # fmt: skip
    assert json.loads((prepared / "stats.json").read_text()) == stats
    files = digests(prepared)
    # Again over its own output, and as the stage's command, in the project.
    monkeypatch.chdir(tmp_path)
    prepare_main()
    assert json.loads(capsys.readouterr().out) == stats
    assert digests(prepared) == files


@pytest.mark.parametrize("seed", [3, 4])
def test_prepare_splits_with_the_seed_of_params(tmp_path: Path, seed: int) -> None:
    raw = Paths(tmp_path).raw
    domains = [f"d{i}.com" for i in range(20)]
    (raw / "dl").mkdir(parents=True)
    (raw / "dl" / "urls.txt").write_text("".join(f"phishing\thttp://{d}/\n" for d in domains))
    (raw / "sources.json").write_text(json.dumps([{"path": "dl/urls.txt", "format": "dl"}]))
    fractions = {"val_fraction": 0.25, "test_fraction": 0.25}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"prepare": {"seed": seed, **fractions}}))
    prepare(tmp_path)
    expected = grouped_split(domains, {"val": 0.25, "test": 0.25}, seed)
    for name, index in expected.items():
        written = list(read_dl(Paths(tmp_path).prepared / f"{name}.txt"))
        assert [e.url for e in written] == [f"http://{domains[i]}/" for i in index]


@pytest.mark.parametrize(
    "stage", [train, lambda root: refit_report([0], root)], ids=["train", "refit check"]
)
@pytest.mark.parametrize(
    ("split", "lines"),
    [("val", ""), ("val", "phishing\thttp://a.tk/\n"), ("train", "legitimate\thttps://b.org/\n")],
)
def test_training_needs_both_labels_in_train_and_val(
    tmp_path: Path, split: str, lines: str, stage: Callable[[Path], object]
) -> None:
    prepared = Paths(tmp_path).prepared
    prepared.mkdir(parents=True)
    for name in ("train", "val"):
        (prepared / f"{name}.txt").write_text(
            "phishing\thttp://a.tk/\nlegitimate\thttps://b.org/\n"
        )
    (prepared / f"{split}.txt").write_text(lines)
    params = {"train": {"seed": 1, "model_version": "1.0.0", "families": []}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(UnusableSplitError, match=f"{split}.txt holds .* not URLs of both labels"):
        stage(tmp_path)


class _Handler(http.server.BaseHTTPRequestHandler):
    payload = b'["a.com"]'

    def do_GET(self) -> None:
        if self.path == "/slow.json":
            time.sleep(0.5)
        if self.path in ("/ok.json", "/slow.json"):
            self.send_response(200)
            self.end_headers()
            with contextlib.suppress(ConnectionError):  # a client that gave up
                self.wfile.write(self.payload)
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/ok.json")
            self.end_headers()
        else:
            self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def file_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


@pytest.mark.parametrize("where", ["/ok.json", "/moved"])  # a redirect is followed
def test_download_when_not_mirrored(tmp_path: Path, file_server: str, where: str) -> None:
    raw = RawFile("x/ok.json", "ebbu", "phishing", sha256(_Handler.payload), file_server + where)
    assert fetch(raw, tmp_path) == (_Handler.payload, "download")


def test_checksum_mismatch_is_refused(tmp_path: Path, file_server: str) -> None:
    raw = RawFile("x/ok.json", "ebbu", "phishing", "0" * 64, f"{file_server}/ok.json")
    digest = sha256(_Handler.payload)
    message = f"x/ok.json from {file_server}/ok.json has sha256 {digest}, expected 0000"
    with pytest.raises(DataUnavailableError, match=re.escape(message)):
        fetch(raw, tmp_path)


def test_a_mirrored_file_comes_first_and_is_verified_too(tmp_path: Path, file_server: str) -> None:
    """The mirror's copy wins over the URL; a corrupt copy is refused, not replaced by a
    download."""
    mirrored = b'["b.org"]'
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "ok.json").write_bytes(mirrored)
    url = f"{file_server}/ok.json"
    assert fetch(RawFile("x/ok.json", "ebbu", None, sha256(mirrored), url), tmp_path) == (
        mirrored, "mirror",
    )  # fmt: skip
    assert fetch(RawFile("x/ok.json", "ebbu", None, None, None), tmp_path) == (mirrored, "mirror")
    pinned = RawFile("x/ok.json", "ebbu", None, sha256(_Handler.payload), url)
    with pytest.raises(DataUnavailableError, match=re.escape(f"from {tmp_path / 'x' / 'ok.json'}")):
        fetch(pinned, tmp_path)


def test_a_server_that_does_not_answer_in_time_is_unavailable(
    tmp_path: Path, file_server: str
) -> None:
    raw = RawFile("x/slow.json", "ebbu", "phishing", None, f"{file_server}/slow.json")
    with pytest.raises(DataUnavailableError, match="downloading"):
        fetch(raw, tmp_path, timeout=0.05)


def test_get_data_writes_read_only_copies_and_their_manifest(
    tmp_path: Path,
    file_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv(MIRROR_ENV, raising=False)  # params' data.mirror, relative to the root
    mirrored = b'["b.org"]'
    (tmp_path / "mirror" / "ebbu").mkdir(parents=True)
    (tmp_path / "mirror" / "ebbu" / "data_legitimate.json").write_bytes(mirrored)
    legitimate = {"path": "ebbu/data_legitimate.json", "format": "ebbu", "label": "legitimate"}
    phishing = {"path": "ebbu/data_phishing.json", "format": "ebbu", "label": "phishing"}
    sources = [
        {"name": "mirrored", "files": [{**legitimate, "sha256": sha256(mirrored)}]},
        {"name": "web", "files": [{**phishing, "url": f"{file_server}/ok.json"}]},
    ]
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({"data": {"mirror": "mirror", "sources": sources}})
    )
    raw = Paths(tmp_path).raw
    raw.mkdir(parents=True)
    (raw / "stale.json").write_text("[]")  # from an earlier run: removed
    entries = get_data(tmp_path)
    assert entries == [
        {"source": "mirrored", **legitimate, "sha256": sha256(mirrored), "origin": "mirror"},
        {"source": "web", **phishing, "sha256": sha256(_Handler.payload), "origin": "download"},
    ]
    assert json.loads((raw / "sources.json").read_text()) == entries
    assert digests(raw) == {
        "ebbu/data_legitimate.json": sha256(mirrored),
        "ebbu/data_phishing.json": sha256(_Handler.payload),
        "sources.json": sha256((raw / "sources.json").read_bytes()),
    }
    for entry in entries:
        assert stat.S_IMODE((raw / entry["path"]).stat().st_mode) == 0o444
    # Again, as the stage's command, over its own read-only files.
    monkeypatch.chdir(tmp_path)
    get_data_main()
    assert capsys.readouterr().out.splitlines() == [
        f"ebbu/data_legitimate.json: mirror ({sha256(mirrored)[:12]})",
        f"ebbu/data_phishing.json: download ({sha256(_Handler.payload)[:12]})",
    ]


def test_a_file_that_cannot_be_got_leaves_the_last_raw_data_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A corrupt or missing mirror file fails the stage before data/raw is touched: the raw
    files and manifest of the last run stay, rather than the files before the failing one."""
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    payloads = {"data_legitimate.json": b'["b.org"]', "data_phishing.json": b'["a.tk"]'}
    (tmp_path / "mirror" / "ebbu").mkdir(parents=True)
    files = []
    for name, payload in payloads.items():
        (tmp_path / "mirror" / "ebbu" / name).write_bytes(payload)
        files.append({"path": f"ebbu/{name}", "format": "ebbu", "sha256": sha256(payload)})
    params = {"data": {"mirror": "mirror", "sources": [{"name": "ebbu", "files": files}]}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    get_data(tmp_path)
    before = digests(Paths(tmp_path).raw)
    (tmp_path / "mirror" / "ebbu" / "data_phishing.json").write_bytes(b"[]")  # corrupt
    with pytest.raises(DataUnavailableError, match="has sha256"):
        get_data(tmp_path)
    (tmp_path / "mirror" / "ebbu" / "data_phishing.json").unlink()  # a partial mirror
    with pytest.raises(DataUnavailableError, match="has no URL"):
        get_data(tmp_path)
    assert digests(Paths(tmp_path).raw) == before


def test_offline_without_mirror_says_how_to_fix_it(tmp_path: Path, file_server: str) -> None:
    raw = RawFile("x/missing.json", "ebbu", "phishing", None, f"{file_server}/missing.json")
    with pytest.raises(DataUnavailableError, match=MIRROR_ENV):
        fetch(raw, tmp_path)
    with pytest.raises(DataUnavailableError, match="has no URL"):
        fetch(RawFile("x/missing.json", "ebbu", None, None, None), tmp_path)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {
                "path": "a/b.json",
                "format": "ebbu",
                "label": "phishing",
                "sha256": "ab" * 32,
                "url": "u",
            },
            RawFile("a/b.json", "ebbu", "phishing", "ab" * 32, "u"),
        ),
        ({"path": "c.csv", "format": "csv"}, RawFile("c.csv", "csv", None, None, None)),
    ],
)
def test_raw_file_from_params(spec: dict[str, str], expected: RawFile) -> None:
    assert RawFile.from_params(spec) == expected


def test_mirror_env_overrides_params(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    params = {"data": {"mirror": "relative/dir"}}
    assert mirror_directory(params, tmp_path) == (tmp_path / "relative" / "dir").resolve()
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    assert mirror_directory(params, Path("/elsewhere")) == tmp_path
    monkeypatch.delenv(MIRROR_ENV)
    with pytest.raises(ParamsError, match=f"no data mirror: set {MIRROR_ENV} or data.mirror"):
        mirror_directory({"data": {"sources": []}}, tmp_path)


def test_project_root_is_found_from_a_subdirectory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "params.yaml").write_text("a: 1\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert project_root() == tmp_path
    monkeypatch.chdir(tmp_path.parent)
    with pytest.raises(ProjectNotFoundError, match=f"neither {tmp_path.parent} nor a parent"):
        project_root()
    (tmp_path / "params.yaml").write_text("[1]\n")
    with pytest.raises(ParamsError, match="mapping"):
        load_params(tmp_path)
    (tmp_path / "params.yaml").write_text("prepare:\n  seed: 1\n test_fraction: [\n")
    with pytest.raises(
        ParamsError, match=r"params.yaml is not valid YAML \(line 3, column 2\): expected"
    ):
        load_params(tmp_path)


def test_domain_folds_keep_each_registered_domain_in_one_fold() -> None:
    urls = [
        normalize_url(f"http://{sub}.site{i % 7}.co.uk/{i}")
        for i, sub in enumerate("abcdefghij" * 3)
    ]
    fold = domain_folds(urls, 4, seed=1)
    assert set(fold.tolist()) <= {0, 1, 2, 3}
    owner: dict[str, int] = {}
    for url, f in zip(urls, fold.tolist(), strict=True):
        assert owner.setdefault(url.host.split(".", 1)[1], f) == f
    np.testing.assert_array_equal(fold, domain_folds(urls, 4, seed=1))


def test_out_of_fold_tld_prior_never_sees_the_row_it_encodes() -> None:
    # Each .tk URL is the only one of its fold: out of fold, its own label must not count.
    urls = ["http://a.tk/", "http://b.tk/", "http://c.com/", "http://d.com/"]
    split = Split.from_examples([Example(u, y) for u, y in zip(urls, [1, 0, 0, 0], strict=True)])
    fold = np.array([0, 1, 0, 1])
    features = out_of_fold_tld_prior(split, fold, smoothing=0.0)
    assert features[0, 0] == 0.0  # a.tk (phishing) sees only b.tk (legitimate)
    assert features[1, 0] == 1.0  # b.tk sees only a.tk
