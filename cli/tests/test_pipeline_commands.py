"""`phishline data get|prepare`, `phishline train` and `phishline evaluate`: the DVC stages by
hand, run in a throwaway project on a small synthetic corpus. The stages themselves are tested
on real URLs in model-training/tests; here, that each command runs its stage where the user is
and reports what it did."""

import csv
import hashlib
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from lib_ml import Predictor, describe_feature
from lib_ml.artifact import MANIFEST
from model_training.config import MIRROR_ENV, load_params
from model_training.evaluate import evaluate_examples
from model_training.sources import read_labelled
from phishline import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


WORDS = {
    "legitimate": [("shop", "products"), ("news", "about"), ("city", "blog")],
    "phishing": [("paypal", "verify"), ("login", "secure"), ("bank", "update")],
}


def corpus() -> dict[str, list[str]]:
    """120 URLs per label, each on its own registered domain."""
    legitimate = [
        f"https://www.{site}{i}.com/{section}/item-{i % 9}"
        for i, (site, section) in enumerate(WORDS["legitimate"] * 40)
    ]
    phishing = [
        f"http://{action}-{brand}.account{i}.tk/{brand}{i % 5}.php?id={i}"
        for i, (brand, action) in enumerate(WORDS["phishing"] * 40)
    ]
    return {"legitimate": legitimate, "phishing": phishing}


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Result]]:
    """A project whose params.yaml reads the corpus from its own mirror (linear model only),
    and the outputs of `phishline data get`, `data prepare` and `train` run in it."""
    root = tmp_path_factory.mktemp("project")
    files = []
    for label, urls in corpus().items():
        payload = json.dumps(urls).encode()
        path = root / "mirror" / f"data_{label}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        files.append({
            "path": path.name, "format": "ebbu", "label": label,
            "url": "http://127.0.0.1:9/unreachable", "sha256": hashlib.sha256(payload).hexdigest(),
        })  # fmt: skip
    params = load_params(REPO)
    params["data"] = {"mirror": "mirror", "sources": [{"name": "synthetic", "files": files}]}
    params["train"]["families"] = ["linear"]
    params["train"]["linear"]["hash_bits"] = 12
    params["evaluate"]["external"] = []
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # the commands find their project from the working directory
        patch.delenv(MIRROR_ENV, raising=False)  # the project's own mirror, not CI's
        outputs = {
            " ".join(args): runner.invoke(app, args)
            for args in (["data", "get"], ["data", "prepare"], ["train"])
        }
    return root, outputs


def test_the_stages_run_by_hand_in_order(stages: tuple[Path, dict[str, Result]]) -> None:
    root, outputs = stages
    for result in outputs.values():
        assert result.exit_code == 0, result.output
    assert outputs["data get"].output.count(": mirror (sha256 ") == 2
    assert (root / "data" / "raw" / "sources.json").is_file()
    stats = json.loads((root / "data" / "prepared" / "stats.json").read_text())
    for name, split in stats["splits"].items():
        row = next(line for line in outputs["data prepare"].output.splitlines() if name in line)
        assert str(split["urls"]) in row.split()
    assert f"'kept': {stats['counts']['kept']}" in outputs["data prepare"].output
    manifest = json.loads((root / "models" / "linear" / "model.json").read_text())
    trained = outputs["train"].output
    assert f"{manifest['threshold']:.3f}" in trained
    assert "linear" in trained
    assert "ensemble" not in trained


def write_labelled(path: Path, file_format: str, urls: dict[str, list[str]]) -> None:
    pairs = [(label, url) for label, each in urls.items() for url in each]
    if file_format == "dl":
        path.write_text("".join(f"{label}\t{url}\n" for label, url in pairs), encoding="utf-8")
    elif file_format == "csv":
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["url", "label"])
            writer.writerows((url, label) for label, url in pairs)
    else:
        path.write_text(json.dumps([url for _, url in pairs]), encoding="utf-8")


@pytest.mark.parametrize(
    ("file_format", "name", "labels"),
    [
        ("dl", "other.txt", ("legitimate", "phishing")),
        ("csv", "other.csv", ("legitimate", "phishing")),
        ("ebbu", "other_phishing.json", ("phishing",)),
        ("ebbu", "other_legitimate.json", ("legitimate",)),
    ],
)
def test_evaluate_scores_a_model_on_a_labelled_file(
    stages: tuple[Path, dict[str, Result]],
    tmp_path: Path,
    file_format: str,
    name: str,
    labels: tuple[str, ...],
) -> None:
    other = {  # other sites than the corpus's
        "legitimate": [f"https://docs.example{i}.org/guide/page-{i}" for i in range(20)],
        "phishing": [f"http://verify-account.update{i}.tk/login.php?u={i}" for i in range(20)],
    }
    data, out = tmp_path / name, tmp_path / "reports" / "metrics.json"
    write_labelled(data, file_format, {label: other[label] for label in labels})
    model_dir = stages[0] / "models" / "linear"
    # The format's name in any case (`--format DL`).
    args = ["--model-dir", str(model_dir), "--data", str(data), "--format", file_format.upper()]
    result = runner.invoke(app, ["evaluate", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = evaluate_examples(Predictor.load(model_dir), read_labelled(data, file_format))
    assert json.loads(out.read_text()) == json.loads(json.dumps(expected.metrics))
    # Which artifact, exactly: model.json lists the sha256 of every weight file.
    assert (
        expected.metrics["model"]["manifest_sha256"]
        == hashlib.sha256((model_dir / MANIFEST).read_bytes()).hexdigest()
    )
    printed = " ".join(result.output.split())  # Rich wraps long lines
    metrics = expected.metrics
    (legitimate_ok, flagged), (missed, caught) = metrics["confusion_matrix"]
    if labels == ("phishing",):
        recall = f"{caught / (missed + caught):.2%}"
        assert f"): no legitimate URLs; {caught} of 20 caught (recall {recall})," in printed
    elif labels == ("legitimate",):
        rate = f"{flagged / (legitimate_ok + flagged):.2%}"
        assert f"): no phishing URLs; {flagged} of 20 flagged as phishing " in printed
        assert f"(false-positive rate {rate})," in printed
    else:
        assert f"): F1 {metrics['f1']:.4f}, ROC AUC {metrics['roc_auc']:.4f}," in printed
    assert f", accuracy {metrics['accuracy']:.4f} → " in printed
    assert (metrics["roc_auc"] is None) == (len(labels) == 1)


def test_evaluate_reads_every_file_of_a_directory(
    stages: tuple[Path, dict[str, Result]], tmp_path: Path
) -> None:
    urls = corpus()
    for part, (start, stop) in {"a.txt": (0, 30), "b.txt": (30, 60)}.items():
        write_labelled(
            tmp_path / part, "dl", {label: each[start:stop] for label, each in urls.items()}
        )
    model_dir, out = stages[0] / "models" / "linear", tmp_path / "metrics" / "all.json"
    args = ["--model-dir", str(model_dir), "--data", str(tmp_path), "--out", str(out)]
    result = runner.invoke(app, ["evaluate", *args])
    assert result.exit_code == 0, result.output
    both = [*read_labelled(tmp_path / "a.txt", "dl"), *read_labelled(tmp_path / "b.txt", "dl")]
    expected = evaluate_examples(Predictor.load(model_dir), both)
    assert json.loads(out.read_text()) == json.loads(json.dumps(expected.metrics))
    assert "(120 URLs)" in " ".join(result.output.split())


def test_evaluate_prints_its_summary_on_one_line_with_the_whole_output_path(
    stages: tuple[Path, dict[str, Result]], tmp_path: Path
) -> None:
    """Piped, for scripts that read the last line: no break at 80 columns, inside a path."""
    data = tmp_path / "data.txt"
    write_labelled(data, "dl", {label: urls[:5] for label, urls in corpus().items()})
    out = tmp_path / "reports" / "external-sources" / "dl-sample-metrics-of-the-linear-model.json"
    args = ["--model-dir", str(stages[0] / "models" / "linear"), "--data", str(data)]
    result = runner.invoke(app, ["evaluate", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"linear on {data} (10 URLs): ")
    assert result.output.endswith(f" → {out}\n")
    assert result.output.count("\n") == 1


def test_evaluate_refuses_an_unknown_format(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text("{}")  # passes the option's check; never loaded
    data = tmp_path / "x.txt"
    data.write_text("phishing\thttp://a.tk/\n", encoding="utf-8")
    args = ["--model-dir", str(tmp_path), "--data", str(data), "--format", "xml"]
    result = runner.invoke(app, ["evaluate", *args, "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 2
    assert "expected one of" in result.output


@pytest.mark.parametrize(
    ("problem", "says"),
    [
        ("no artifact", "is not a model artifact"),
        ("no such model directory", "does not exist"),
        ("no such data file", "does not exist"),
        ("malformed line", "expected 'legitimate|phishing<TAB>url'"),
        ("no valid URL", "no valid labelled URL to evaluate on (2 read, 2 invalid"),
    ],
)
def test_evaluate_names_what_is_wrong_with_its_input(
    stages: tuple[Path, dict[str, Result]], tmp_path: Path, problem: str, says: str
) -> None:
    model_dir, data = stages[0] / "models" / "linear", tmp_path / "data.txt"
    lines = {"malformed line": "garbage\n", "no valid URL": "phishing\t\nlegitimate\t \n"}
    data.write_text(lines.get(problem, "phishing\thttp://a.tk/\n"), encoding="utf-8")
    if problem == "no artifact":
        model_dir = tmp_path
    elif problem == "no such model directory":
        model_dir = tmp_path / "absent"
    elif problem == "no such data file":
        data = tmp_path / "absent.txt"
    args = ["--model-dir", str(model_dir), "--data", str(data), "--out", str(tmp_path / "m.json")]
    result = runner.invoke(app, ["evaluate", *args])
    assert result.exit_code == 2
    assert says in " ".join(result.output.replace("│", " ").split())  # Rich boxes and wraps
    assert not (tmp_path / "m.json").exists()


def test_evaluate_says_how_many_urls_it_scored_and_dropped(
    stages: tuple[Path, dict[str, Result]], tmp_path: Path
) -> None:
    data = tmp_path / "data.txt"
    data.write_text(
        "phishing\thttp://a.tk/x\nphishing\thttp://a.tk/x\nlegitimate\t\nlegitimate\tb.org/\n",
        encoding="utf-8",
    )
    args = ["--model-dir", str(stages[0] / "models" / "linear"), "--data", str(data)]
    result = runner.invoke(app, ["evaluate", *args, "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())
    assert "(2 URLs; 2 invalid, duplicate or conflicting dropped)" in printed


def test_predict_checks_each_link_with_the_reasons_in_words(
    stages: tuple[Path, dict[str, Result]],
) -> None:
    model_dir = stages[0] / "models" / "linear"
    phishing, legitimate = corpus()["phishing"][0], corpus()["legitimate"][0]
    args = ["predict", "--model-dir", str(model_dir), "--top-k", "3", phishing, legitimate]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    predictor = Predictor.load(model_dir)
    lines = result.output.splitlines()
    for url in (phishing, legitimate):
        expected = predictor.predict_one(url, explain_top_k=3)
        verdict = next(index for index, line in enumerate(lines) if line.endswith(url))
        assert lines[verdict].startswith(expected.label)
        assert f"{expected.probability:6.1%}" in lines[verdict]
        for line, item in zip(lines[verdict + 1 : verdict + 4], expected.explanation, strict=True):
            towards = "phishing" if item.weight > 0 else "legitimate"
            described = describe_feature(item.feature, item.kind)
            assert line.strip() == f"{item.weight:+.2f} towards {towards}: {described}"


def test_predict_answers_json_lines_as_model_service_does(
    stages: tuple[Path, dict[str, Result]],
) -> None:
    model_dir = stages[0] / "models" / "linear"
    urls = [corpus()["phishing"][1], "javascript:alert(1)", corpus()["legitimate"][1]]
    result = runner.invoke(app, ["predict", "--json", "--model-dir", str(model_dir), *urls])
    assert result.exit_code == 1  # one link was unreadable; the others are still answered
    answers = [json.loads(line) for line in result.output.splitlines()]
    assert [answer["url"] for answer in answers] == urls
    assert answers[1] == {
        "url": urls[1],
        "error": {
            "code": "invalid_url",
            "message": "the URL is a javascript: link, not a web address",
        },
    }
    predictor = Predictor.load(model_dir)
    for answer in (answers[0], answers[2]):
        expected = predictor.predict_one(answer["url"], explain_top_k=5)
        assert (answer["label"], answer["probability"]) == (expected.label, expected.probability)
        assert (answer["model"], answer["model_version"]) == ("linear", predictor.version)
        assert answer["explanation"] == [
            {
                "feature": item.feature,
                "kind": item.kind,
                "weight": item.weight,
                "description": describe_feature(item.feature, item.kind),
            }
            for item in expected.explanation
        ]


def test_predict_reads_links_from_stdin(stages: tuple[Path, dict[str, Result]]) -> None:
    model_dir = stages[0] / "models" / "linear"
    urls = corpus()["phishing"][:2] + corpus()["legitimate"][:1]
    result = runner.invoke(
        app,
        ["predict", "--json", "--top-k", "0", "--model-dir", str(model_dir), urls[0], "-"],
        input="\n".join(urls[1:]) + "\n\n",
    )
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.output.splitlines()]
    assert [answer["url"] for answer in answers] == urls
    assert [answer["label"] for answer in answers] == ["phishing", "phishing", "legitimate"]


def test_predict_prints_each_link_as_it_is_on_one_line(
    stages: tuple[Path, dict[str, Result]],
) -> None:
    model_dir = stages[0] / "models" / "linear"
    links = ["http://a.example/:x:/[bold]" + "p" * 120, "mailto:smile"]
    result = runner.invoke(app, ["predict", "--top-k", "0", "--model-dir", str(model_dir), *links])
    lines = result.output.splitlines()
    assert len(lines) == 2, result.output  # not wrapped at the terminal's width
    assert lines[0].endswith(links[0])  # no emoji, no markup
    assert lines[1] == "unreadable  mailto:smile: the URL is a mailto: link, not a web address"


def test_predict_without_a_model_says_which_directory_it_looked_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["predict", "a.com"])
    assert result.exit_code == 2
    assert "models/ensemble" in result.output
    assert "does not exist" in " ".join(result.output.replace("│", " ").split())
