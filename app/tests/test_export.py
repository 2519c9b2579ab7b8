"""`export_feedback`: corrected labels in DL format that the training pipeline reads."""

import itertools
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from model_training.sources import read_dl
from phishline_app.db.models import Feedback
from phishline_app.db.store import FeedbackStore, UnreadableStoreError
from phishline_app.export import export_feedback

PHISHING_URL = "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login"
LEGITIMATE_URL = "https://www.google.com/"
_ids = itertools.count()


def store_answers(database_url: str, *answers: tuple[str, str, str]) -> None:
    store = FeedbackStore.open(database_url)
    try:
        for url, predicted, answer in answers:
            store.add(
                Feedback(
                    prediction_id=f"p{next(_ids)}",
                    url=url,
                    predicted_label=predicted,
                    probability=0.9 if predicted == "phishing" else 0.1,
                    model="ensemble",
                    model_version="1.0.0",
                    variant="v1",
                    answer=answer,
                    user_id="user-" + "x" * 20,
                    shown_at=datetime.now(UTC),
                )
            )
    finally:
        store.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'feedback.db'}"


def test_yes_confirms_and_no_flips_the_predicted_label(sqlite_url: str, tmp_path: Path) -> None:
    store_answers(
        sqlite_url,
        (PHISHING_URL, "phishing", "yes"),
        (LEGITIMATE_URL, "phishing", "no"),
        ("http://login.example.tk/verify", "legitimate", "no"),
        ("https://example.org/a b\tc", "legitimate", "yes"),
    )
    out = tmp_path / "out" / "feedback.txt"
    assert export_feedback(sqlite_url, out) == 4
    assert out.read_text(encoding="utf-8").splitlines() == [
        f"phishing\t{PHISHING_URL}",
        f"legitimate\t{LEGITIMATE_URL}",
        "phishing\thttp://login.example.tk/verify",
        "legitimate\thttps://example.org/a b\tc",
    ]


def test_the_training_pipeline_reads_the_export(sqlite_url: str, tmp_path: Path) -> None:
    store_answers(
        sqlite_url, (PHISHING_URL, "legitimate", "no"), (LEGITIMATE_URL, "legitimate", "yes")
    )
    out = tmp_path / "feedback.txt"
    export_feedback(sqlite_url, out)
    examples = list(read_dl(out))
    assert [(e.url, e.label) for e in examples] == [(PHISHING_URL, 1), (LEGITIMATE_URL, 0)]


def test_urls_with_line_breaks_are_left_out(sqlite_url: str, tmp_path: Path) -> None:
    store_answers(
        sqlite_url,
        ("http://a.test/\nphishing\thttp://b.test/", "legitimate", "yes"),
        ("http://c.test/\r", "legitimate", "yes"),
        (LEGITIMATE_URL, "legitimate", "yes"),
    )
    out = tmp_path / "feedback.txt"
    assert export_feedback(sqlite_url, out) == 1
    assert out.read_text(encoding="utf-8") == f"legitimate\t{LEGITIMATE_URL}\n"


def test_empty_store_exports_an_empty_file_and_replaces_an_old_one(
    sqlite_url: str, tmp_path: Path
) -> None:
    FeedbackStore.open(sqlite_url).close()
    out = tmp_path / "feedback.txt"
    out.write_text("stale\n", encoding="utf-8")
    assert export_feedback(sqlite_url, out) == 0
    assert out.stat().st_mode & 0o777 == 0o644
    assert out.read_text(encoding="utf-8") == ""
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_missing_sqlite_file_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "feedback.db"
    with pytest.raises(FileNotFoundError, match=f"no feedback database at {missing}"):
        export_feedback(f"sqlite:///{missing}", tmp_path / "out.txt")
    assert list(tmp_path.iterdir()) == []


def test_a_database_without_the_feedback_table_is_refused_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    other = tmp_path / "other.db"  # exists, but is not the apps' feedback store
    with closing(sqlite3.connect(other)) as connection, connection:
        connection.execute("CREATE TABLE runs (id INTEGER)")
    with pytest.raises(UnreadableStoreError, match=f"sqlite:///{other} has no feedback table"):
        export_feedback(f"sqlite:///{other}", tmp_path / "out.txt")
    with closing(sqlite3.connect(other)) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
        journal_mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert (tables, journal_mode) == (["runs"], "delete")  # no table made, not switched to WAL
    assert not (tmp_path / "out.txt").exists()


def test_failed_write_leaves_no_partial_file(sqlite_url: str, tmp_path: Path) -> None:
    store_answers(sqlite_url, (LEGITIMATE_URL, "legitimate", "yes"))
    target = tmp_path / "a-directory"
    (target / "occupied").mkdir(parents=True)  # a non-empty directory cannot be replaced
    with pytest.raises(IsADirectoryError):
        export_feedback(sqlite_url, target)
    assert not list(tmp_path.glob(".a-directory.*"))


def test_answers_given_on_the_page_are_exported(user, tmp_path: Path, database_url: str) -> None:
    result = user.check(PHISHING_URL).text
    assert user.answer(result, "no").status_code == 303
    out = tmp_path / "feedback.txt"
    export_feedback(database_url, out)
    assert f"legitimate\t{PHISHING_URL}" in out.read_text(encoding="utf-8").splitlines()


def test_postgresql_store_exports_too(postgres, tmp_path: Path) -> None:
    store_answers(postgres.url, ("http://pg-export.test/", "phishing", "no"))
    out = tmp_path / "feedback.txt"
    export_feedback(postgres.url, out)
    assert "legitimate\thttp://pg-export.test/" in out.read_text(encoding="utf-8").splitlines()
