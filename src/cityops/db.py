"""Storage: declarative base, engines, the unit of work and migrations.

SQLite (WAL) is the embedded default; PostgreSQL (psycopg 3) is the production store. One schema,
built by the Alembic migrations in ``cityops/migrations`` on both.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from cityops.config import Settings, get_settings

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Made by hand in migrations, not in the models: the search tables and trigram index (0009), the
# duplicate-check expression index (0010) and the monthly partitions of readings on PostgreSQL (0013).
HAND_MADE = ("case_search", "ix_cases_text_trgm", "ix_cases_duplicate_lookup", "readings_p")


def in_models(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """For Alembic's comparisons: whether a schema object is one the models describe."""
    return not (name or "").startswith(HAND_MADE)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every store (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas_for(engine: Engine):  # noqa: ANN202
    engine_ref = weakref.ref(engine)

    def set_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None  # the driver begins nothing itself: _WriterTurns.begin does
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_size_limit=67108864")  # a log emptied after a burst shrinks to 64 MB
        if _CHECKPOINTERS.get(engine_ref()) is not None:
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's thread copies the WAL back
        cursor.close()
    return set_pragmas


READ_ONLY = "cityops_read_only"
WRITER_WAIT_S = 5.0
"""As long as a writer waits for another in this process, as SQLite's busy_timeout lets it wait."""


_WRITER_TURNS: weakref.WeakKeyDictionary[Engine, _WriterTurns] = weakref.WeakKeyDictionary()


def writer_active(engine: Engine) -> bool:
    """Whether a writer of this process holds its turn on ``engine`` (a SQLite store) now."""
    turns = _WRITER_TURNS.get(engine)
    return turns is not None and turns.lock.locked()


class _WriterTurns:
    """SQLite writers of one process take turns on a lock handed over the moment the last one
    commits or rolls back. SQLite's own wait for its write lock sleeps in steps of up to 100 ms,
    which set the tail latency of concurrent requests; writers in other processes still wait
    through busy_timeout, and SQLite's lock alone keeps the data right either way."""

    def __init__(self, engine: Engine) -> None:
        self.lock = threading.Lock()
        self.holder: object | None = None
        dialect = engine.dialect
        for name in ("do_commit", "do_rollback", "do_close"):
            setattr(dialect, name, self._then_hand_over(getattr(dialect, name)))
        event.listen(engine, "begin", self.begin)
        _WRITER_TURNS[engine] = self

    def begin(self, connection) -> None:  # noqa: ANN001
        """Writers take SQLite's write lock as they begin. A deferred transaction that has read and
        then writes fails at once with "database is locked" if another transaction wrote in between
        (WAL cannot bring a stale snapshot forward), where an immediate one waits its turn. Units
        of work opened read-only (GET requests) begin deferred and never wait."""
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        dbapi_connection = connection.connection.dbapi_connection
        if self.lock.acquire(timeout=WRITER_WAIT_S):
            self.holder = dbapi_connection
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._hand_over(dbapi_connection)
            raise

    def _hand_over(self, connection: object) -> None:
        # SQLAlchemy passes the pool's proxy here and there; the driver's connection is the holder
        dbapi_connection = getattr(connection, "dbapi_connection", connection)
        if self.holder is not None and self.holder is dbapi_connection:
            self.holder = None
            self.lock.release()

    def _then_hand_over(self, finish):  # noqa: ANN001, ANN202
        def finished(dbapi_connection) -> None:  # noqa: ANN001
            try:
                finish(dbapi_connection)
            finally:
                self._hand_over(dbapi_connection)
        return finished


def keeps_a_wal(engine: Engine) -> bool:
    """A SQLite store in a file (in WAL mode, as every one this module makes)."""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, WalCheckpointer] = weakref.WeakKeyDictionary()


def checkpointing(engine: Engine) -> bool:
    """Whether a ``WalCheckpointer`` runs for this store in this process."""
    return _CHECKPOINTERS.get(engine) is not None


class WalCheckpointer:
    """Copies a SQLite store's write-ahead log back into the database from a thread of its own.

    Left to itself, SQLite checkpoints inside whichever commit pushes the log past 1,000 pages, and
    that commit then waits for the copy and its fsync: 120–260 ms on a request that otherwise takes
    10 (bench/intake.py). While a checkpointer runs, the engine's new connections turn that off and
    this thread runs a PASSIVE checkpoint every ``interval_s``, which never blocks readers or
    writers. Processes without one (the CLI) keep SQLite's own."""

    RESTART_AFTER_PAGES = 25_000
    """A log this long (about 100 MB) under writes that never pause: copy it all in the writers' turn."""

    def __init__(self, engine: Engine, *, interval_s: float = 1.0) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> WalCheckpointer:
        if _CHECKPOINTERS.get(self.engine) is not None:
            raise RuntimeError("this store already has a checkpointer")
        _CHECKPOINTERS[self.engine] = self
        # connections pooled before now still checkpoint inside commits: replace them
        self.engine.dispose()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
        self._thread.start()
        return self

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """One checkpoint: (busy, pages in the log, pages copied back)."""
        # the driver's own connection, outside any transaction and the writers' turns
        connection = self.engine.raw_connection()
        try:
            busy, logged, copied = connection.cursor().execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        finally:
            connection.close()
        return busy, logged, copied

    def round(self) -> tuple[int, int, int]:
        """A PASSIVE checkpoint, and a RESTART in the writers' turn when the log has grown past
        ``RESTART_AFTER_PAGES``: SQLite starts the log over only when a writer finds it all copied
        back, which writers that never pause never do."""
        outcome = self.checkpoint()
        turns = _WRITER_TURNS.get(self.engine)
        if outcome[1] > self.RESTART_AFTER_PAGES and turns is not None and turns.lock.acquire(timeout=WRITER_WAIT_S):
            try:
                outcome = self.checkpoint("RESTART")
            finally:
                turns.lock.release()
        return outcome

    def _run(self) -> None:
        while not self._stopped.wait(self.interval_s):
            try:
                self.round()
            except Exception as error:  # noqa: BLE001  (a failed round is retried; SQLite's data is safe)
                log.warning("WAL checkpoint failed: %s", error)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        if _CHECKPOINTERS.get(self.engine) is self:
            del _CHECKPOINTERS[self.engine]
            self.engine.dispose()  # back to SQLite's own checkpoints
        self.checkpoint()  # leave a short log behind


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas_for(engine))
        _WriterTurns(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine(settings: Settings | None = None) -> Engine:
    return _engine_for((settings or get_settings()).sqlalchemy_url)


_SESSION_OPTIONS = {"expire_on_commit": False, "autoflush": True}


def new_session(engine: Engine, *, read_only: bool = False) -> Session:
    """The session of one unit of work. It connects when first used, so making one never waits;
    ``read_only`` lets SQLite readers run beside a writer instead of queueing for the write lock
    (their connections carry the option, and begin deferred). The read-only engine shares the
    engine's pool; it is made each time (about 20 µs), as keeping one per engine would keep every
    engine alive."""
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return Session(bind=bind, **_SESSION_OPTIONS)


def end_unit_of_work(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) and close: a commit that fails is rolled back and raises."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def unit_of_work(engine: Engine | None = None, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction: services flush, this boundary commits or rolls back."""
    session = new_session(engine or get_engine(), read_only=read_only)
    try:
        yield session
    except BaseException:
        end_unit_of_work(session, commit=False)
        raise
    end_unit_of_work(session, commit=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the store's schema to ``revision`` with the packaged Alembic migrations.

    SQLite alters a table by making it again and dropping the old one, which its foreign keys refuse
    while other tables' rows point at it (a store with warnings could not take migration 0016). So
    on SQLite the migrations run with foreign keys off, as Alembic advises, and every key is checked
    before they commit: a migration that broke one fails and changes nothing."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # on the driver's connection, outside any transaction: SQLite ignores it inside one
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    _check_foreign_keys(connection)
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({f"{row[0]} → {row[2]}" for row in broken})
        raise RuntimeError(f"the migrations left {len(broken)} rows pointing at rows that do not exist "
                           f"({', '.join(tables)}); nothing was changed")


def store_status(engine: Engine) -> dict[str, object]:
    """What /healthz reports about the store."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})  # never queue behind a writer to say we are up
        connection.execute(text("SELECT 1"))
        revision = MigrationContext.configure(connection).get_current_revision()
    return {"backend": engine.dialect.name, "revision": revision, "ok": True}
