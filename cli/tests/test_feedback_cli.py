import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lib_ml import decode_label
from model_training.config import MIRROR_ENV, load_params
from model_training.sources import read_dl
from phishline import app
from phishline_app.db.models import Feedback
from phishline_app.db.store import FeedbackStore

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def answer(number: int, url: str, predicted: str, reply: str) -> Feedback:
    return Feedback(
        prediction_id=f"p{number}", url=url, predicted_label=predicted, probability=0.9,
        model="ensemble", model_version="1.0.0", variant="v1", answer=reply, user_id="u1",
        shown_at=datetime.now(UTC),
    )  # fmt: skip


def test_export_writes_corrected_labels(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'feedback.db'}"
    store = FeedbackStore.open(database_url)
    store.add(answer(1, "http://a.example/login", "phishing", "yes"))
    store.add(answer(2, "https://b.example/", "phishing", "no"))
    store.close()
    out = tmp_path / "feedback.txt"
    result = runner.invoke(
        app, ["feedback", "export", "--out", str(out), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 2 labelled URLs" in result.output
    assert sorted(out.read_text().splitlines()) == [
        "legitimate\thttps://b.example/",
        "phishing\thttp://a.example/login",
    ]


def test_the_export_says_how_to_train_on_it_and_that_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feedback → export into the project's data mirror → the printed source in params.yaml →
    `phishline data get` and `data prepare` train on the corrected labels."""
    database_url = f"sqlite:///{tmp_path / 'feedback.db'}"
    store = FeedbackStore.open(database_url)
    corrected = {}
    for number in range(40):  # "No" on every other answer: half of them flip to legitimate
        url, reply = (
            f"http://login-{number}.example{number}.com/verify",
            "yes" if number % 2 else "no",
        )
        store.add(answer(number, url, "phishing", reply))
        corrected[url] = "phishing" if reply == "yes" else "legitimate"
    store.close()
    params = load_params(REPO)
    params["data"] = {"mirror": "mirror", "sources": []}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(MIRROR_ENV, raising=False)

    out = Path("mirror") / "feedback" / "2026-12.txt"
    result = runner.invoke(
        app, ["feedback", "export", "--out", str(out), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    advice, _, snippet = result.output.partition("then `dvc repro`:\n")
    assert f"in the data mirror {(tmp_path / 'mirror').resolve()}" in " ".join(advice.split())
    sources = yaml.safe_load(snippet)
    assert sources == [
        {
            "name": "feedback",
            "files": [
                {
                    "path": "feedback/2026-12.txt",
                    "format": "dl",
                    "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
                }
            ],
        }
    ]
    params["data"]["sources"] = sources
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    for stage in (["data", "get"], ["data", "prepare"]):
        result = runner.invoke(app, stage)
        assert result.exit_code == 0, result.output
    prepared = {
        example.url: decode_label(example.label)
        for split in ("train", "val", "test")
        for example in read_dl(tmp_path / "data" / "prepared" / f"{split}.txt")
    }
    assert prepared == corrected


def test_the_export_outside_a_project_says_where_the_file_goes(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'feedback.db'}"
    store = FeedbackStore.open(database_url)
    store.add(answer(1, "http://a.example/login", "phishing", "yes"))
    store.close()
    out = tmp_path / "feedback.txt"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        result = runner.invoke(
            app, ["feedback", "export", "--out", str(out), "--database-url", database_url]
        )
    assert result.exit_code == 0, result.output
    assert "put the file at that path in the project's data mirror" in " ".join(
        result.output.split()
    )
    assert "path: feedback.txt" in result.output


def test_an_empty_export_gives_no_training_advice(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'feedback.db'}"
    FeedbackStore.open(database_url).close()
    out = tmp_path / "feedback.txt"
    result = runner.invoke(
        app, ["feedback", "export", "--out", str(out), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 0 labelled URLs" in result.output
    assert "To train on it" not in result.output
    assert out.read_text() == ""
