"""The feedback store: acknowledged answers are durable, on SQLite and on PostgreSQL."""

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from phishline_app.db.models import Base, Feedback
from phishline_app.db.store import (
    CONNECT_TIMEOUT,
    DuplicateFeedbackError,
    FeedbackStore,
    StoreUnavailableError,
    create_store_engine,
    database_url,
    open_engine,
)

PHISHING_URL = "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login"


def a_record(prediction_id: str = "p1", answer: str = "no") -> Feedback:
    return Feedback(
        prediction_id=prediction_id,
        url=PHISHING_URL,
        predicted_label="phishing",
        probability=0.97,
        model="ensemble",
        model_version="1.0.0",
        variant="v2",
        answer=answer,
        user_id="u" * 24,
        shown_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def answer_through_the_api(client, url: str = PHISHING_URL, answer: str = "no") -> int:
    token = client.post("/api/predict", json={"url": url}).json()["feedback_token"]
    response = client.post("/api/feedback", json={"feedback_token": token, "answer": answer})
    assert response.status_code == 201
    record_id: int = response.json()["id"]
    return record_id


def test_sqlite_store_creates_its_directory_and_runs_in_wal_with_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "feedback.db"
    engine = open_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert path.exists()
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 5000}


def test_acknowledged_feedback_is_already_on_disk(make_client, tmp_path: Path) -> None:
    path = tmp_path / "feedback.db"
    client = make_client(database_url=f"sqlite:///{path}", variant="v2")
    record_id = answer_through_the_api(client)
    # A separate connection, not the app's: what it sees was committed before the 201.
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT url, predicted_label, probability, model, model_version, variant, answer,"
            " user_id, created_at, shown_at FROM feedback WHERE id = ?",
            (record_id,),
        ).fetchone()
    connection.close()
    url, label, probability, model, version, variant, answer, user_id, created, shown = row
    assert (url, label, probability, model, version, variant, answer) == (
        PHISHING_URL, "phishing", 0.97, "ensemble", "1.0.0", "v2", "no",
    )  # fmt: skip
    assert user_id == client.cookies["phishline-user"]
    assert created >= shown


def test_duplicate_prediction_id_is_refused(tmp_path: Path) -> None:
    store = FeedbackStore.open(f"sqlite:///{tmp_path / 'f.db'}")
    try:
        store.add(a_record("same"))
        with pytest.raises(DuplicateFeedbackError):
            store.add(a_record("same", answer="yes"))
        with store.session() as session:
            assert session.scalars(select(Feedback.answer)).all() == ["no"]
    finally:
        store.close()


def test_broken_database_is_unreachable_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    store = FeedbackStore.open(f"sqlite:///{path}")
    try:
        assert store.reachable()
        store.engine.dispose()
        path.write_bytes(b"this is not a database file" * 100)
        assert not store.reachable()
        with pytest.raises(StoreUnavailableError):
            store.add(a_record())
        with pytest.raises(StoreUnavailableError):
            store.holds("p1", "no", "u" * 24)
    finally:
        store.close()


def test_holds_tells_whether_the_stored_answer_is_this_users(tmp_path: Path) -> None:
    store = FeedbackStore.open(f"sqlite:///{tmp_path / 'f.db'}")
    try:
        store.add(a_record("same", answer="no"))
        assert store.holds("same", "no", "u" * 24)
        assert not store.holds("same", "yes", "u" * 24)
        assert not store.holds("same", "no", "v" * 24)
        assert not store.holds("other", "no", "u" * 24)
    finally:
        store.close()


def test_in_memory_sqlite_works_for_a_single_thread() -> None:
    store = FeedbackStore.open("sqlite://")
    try:
        store.add(a_record("memory"))
        with store.session() as session:
            assert session.scalars(select(Feedback.prediction_id)).all() == ["memory"]
    finally:
        store.close()


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    assert database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert database_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert database_url("sqlite:///x.db").drivername == "sqlite"


def test_a_postgresql_server_that_never_answers_is_given_up_on(silent_port: int) -> None:
    store = FeedbackStore(create_store_engine(f"postgresql://nobody@127.0.0.1:{silent_port}/x"))
    started = time.monotonic()
    assert not store.reachable()
    elapsed = time.monotonic() - started
    store.close()
    assert elapsed < CONNECT_TIMEOUT * 3  # not for ever: libpq itself has no timeout


def test_feedback_is_durable_on_postgresql(make_client, postgres) -> None:
    client = make_client(database_url=postgres.url)
    record_id = answer_through_the_api(client, answer="yes")
    store = FeedbackStore.open(postgres.url)
    try:
        with store.session() as session:
            record = session.get(Feedback, record_id)
            assert record is not None
            assert (record.url, record.answer, record.variant) == (PHISHING_URL, "yes", "v1")
            assert record.created_at.tzinfo is not None
    finally:
        store.close()


def test_postgresql_outage_is_reported_and_recovered_from(make_client, make_user, postgres) -> None:
    client = make_client(database_url=postgres.url)
    assert client.get("/health/ready").json()["database"] == "up"
    token = client.post("/api/predict", json={"url": PHISHING_URL}).json()["feedback_token"]
    page_user = make_user(database_url=postgres.url)
    result_page = page_user.check(PHISHING_URL).text
    postgres.stop()
    try:
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["database"] == "down"
        refused = client.post("/api/feedback", json={"feedback_token": token, "answer": "no"})
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "store_unavailable"
        not_saved = page_user.answer(result_page, "yes")
        assert not_saved.status_code == 503
        assert "could not be saved" in not_saved.text
    finally:
        postgres.start()
    assert page_user.answer(result_page, "yes").status_code == 303
    assert client.get("/health/ready").status_code == 200
    # Not recorded during the outage, so the same answer is accepted now.
    accepted = client.post("/api/feedback", json={"feedback_token": token, "answer": "no"})
    assert accepted.status_code == 201


def test_apps_starting_together_on_one_new_file_all_open_it(tmp_path: Path) -> None:
    """`phishline up` starts v1 and v2 at once on the same SQLite file."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    start = threading.Barrier(6)

    def open_store() -> None:
        start.wait()
        FeedbackStore.open(url).close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        for opened in [pool.submit(open_store) for _ in range(6)]:
            opened.result()


def test_schema_creation_retries_a_race_and_gives_up_on_a_lasting_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_all = Base.metadata.create_all
    failures = iter([True, True])

    def racing(engine: Any) -> None:
        if next(failures, False):
            raise OperationalError("CREATE TABLE feedback", {}, sqlite3.OperationalError("locked"))
        create_all(engine)

    monkeypatch.setattr(Base.metadata, "create_all", racing)
    FeedbackStore.open(f"sqlite:///{tmp_path / 'raced.db'}").close()
    failures = iter([True] * 100)
    with pytest.raises(OperationalError):
        FeedbackStore.open(f"sqlite:///{tmp_path / 'broken.db'}")
