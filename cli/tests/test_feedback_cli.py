from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from phishline import app
from phishline_app.db.models import Feedback
from phishline_app.db.store import FeedbackStore

runner = CliRunner()


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
