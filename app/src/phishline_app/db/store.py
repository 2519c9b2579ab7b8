"""Engine and sessions of the feedback store, and the one write the app makes."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from phishline_app.db.models import Base, Feedback


class DuplicateFeedbackError(Exception):
    """This prediction already has an answer."""


class StoreUnavailableError(Exception):
    """The database could not take the write; nothing was recorded."""


class UnreadableStoreError(Exception):
    """The feedback store to read has no feedback table, or the database failed to answer."""


def database_url(raw: str) -> URL:
    """Parse a database URL; a bare `postgresql://` uses psycopg 3 (the installed driver)."""
    url = make_url(raw)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


@contextmanager
def reading_store(raw_url: str) -> Iterator[Connection]:
    """A connection to read an existing feedback store, which it leaves as it was: no table
    is created and SQLite's journal mode is not switched, since a wrong database must neither
    pass for a store without answers nor be changed.

    Raises FileNotFoundError for a SQLite file that does not exist, and UnreadableStoreError,
    in one line without the password, for a database without the feedback table or one that
    fails (here or in the caller's queries)."""
    url = database_url(raw_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        raise FileNotFoundError(
            f"no feedback database at {Path(url.database).absolute()}; the app writes it where "
            "it runs (the app's --database-url or PHISHLINE_DATABASE_URL names it)"
        )
    where = url.render_as_string(hide_password=True)
    table = Feedback.__tablename__
    engine = create_engine(url, connect_args=connect_args(url))
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(table):
                raise UnreadableStoreError(f"the feedback database {where} has no {table} table")
            yield connection
    except SQLAlchemyError as error:
        # SQLAlchemy appends the statement and a link on lines of their own.
        gist = next(iter(str(error).splitlines()), "") or type(error).__name__
        raise UnreadableStoreError(f"cannot read the {table} table of {where}: {gist}") from error
    finally:
        engine.dispose()


def _sqlite_durability(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the v1 and v2 apps share one file; synchronous=FULL makes every commit reach
    # the disk before the app acknowledges the answer; busy_timeout waits out the other writer.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")  # first: switching to WAL may wait for a lock
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


CONNECT_TIMEOUT = 3  # seconds; libpq counts whole seconds


def open_engine(raw_url: str) -> Engine:
    """An engine with the schema in place; SQLite files get their directory created."""
    engine = create_store_engine(raw_url)
    _create_schema(engine)
    return engine


def create_store_engine(raw_url: str) -> Engine:
    """An engine of the feedback store, configured for its backend; connects lazily."""
    url = database_url(raw_url)
    if url.get_backend_name() == "sqlite":
        if url.database:  # none for an in-memory database
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_durability)
    else:
        # pre_ping replaces connections that a database restart has closed.
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args(url))
    return engine


def connect_args(url: URL) -> dict[str, Any]:
    """A database server that does not answer (a host down, packets dropped) must not hold a
    readiness check, a request or a command for the system's TCP timeout, minutes long: each
    would keep a worker thread meanwhile. The URL's own connect_timeout wins."""
    if url.get_backend_name() == "sqlite" or "connect_timeout" in url.query:
        return {}
    return {"connect_timeout": CONNECT_TIMEOUT}


# Each failed attempt means another app changed the schema meanwhile, so attempts end once
# every app starting at the same moment has had its turn.
_SCHEMA_ATTEMPTS = 10


def _create_schema(engine: Engine) -> None:
    """Create missing tables; safe when several apps start on one database at once.

    create_all checks for a table, then creates it: another app can create it in between
    (`phishline up` starts v1 and v2 together), or, on SQLite, commit first, so that this
    transaction can no longer write ("database is locked" at once, without waiting). Checking
    again then finds the table, or can write.
    """
    for attempt in range(1, _SCHEMA_ATTEMPTS + 1):
        try:
            Base.metadata.create_all(engine)
        except DBAPIError:
            if attempt == _SCHEMA_ATTEMPTS:
                raise
        else:
            return


class FeedbackStore:
    """Sessions on one engine; every write is committed before the caller answers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, raw_url: str) -> "FeedbackStore":
        return cls(open_engine(raw_url))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    def add(self, record: Feedback) -> Feedback:
        with self.session() as session:
            session.add(record)
            try:
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise DuplicateFeedbackError(record.prediction_id) from exc
            except SQLAlchemyError as exc:
                session.rollback()
                raise StoreUnavailableError(str(exc)) from exc
        return record

    def holds(self, prediction_id: str, answer: str, user_id: str) -> bool:
        """Whether the prediction's stored answer is `answer` from `user_id`."""
        query = select(Feedback.answer, Feedback.user_id).filter_by(prediction_id=prediction_id)
        try:
            with self.session() as session:
                stored = session.execute(query).first()
        except SQLAlchemyError as exc:
            raise StoreUnavailableError(str(exc)) from exc
        return stored is not None and tuple(stored) == (answer, user_id)

    def reachable(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True
