"""Reference data — categories, departments, areas and the responsibility matrix — looked up once
per process and reused while the store's ``reference`` change stamp stays the same.

Database triggers (migration 0011) bump that stamp in the same transaction as every insert, update
or delete on those tables, whoever writes them: this process, another worker, the importer, a SQL
console. A unit of work reads the stamp once, at its first lookup, and shares the lookups made
under it with every other unit of work that read the same stamp. A transaction that writes those
tables itself (seen here in the SQL it sends, however it was built) keeps its lookups private from
then on, each write dropping them, so what it saw before committing is never shared.

Values kept here must be plain data (codes, ids, records, decisions), never ORM instances, which
belong to one session.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session, SessionTransaction

from cityops import stamps

STAMP = "reference"
TABLES = stamps.TRIGGERED_BY[STAMP]
MAX_ENTRIES = 200_000
"""A shared memo past this many lookups (route decisions by category × grid, mostly) starts afresh."""
_SHARED_KEY, _PRIVATE_KEY, _WROTE = "reference.memo", "reference.private", "reference.written"
_shared: dict[tuple[str, int], dict[Any, Any]] = {}
_lock = threading.Lock()


def memo(session: Session) -> dict[Any, Any]:
    """The lookups this unit of work may reuse."""
    connection_info = session.connection().info
    if connection_info.get(_WROTE):
        return connection_info.setdefault(_PRIVATE_KEY, {})
    found = session.info.get(_SHARED_KEY)
    if found is None:
        stamp = stamps.current(session).get(STAMP)
        if stamp is None:  # a store without the triggers: lookups are kept for this transaction only
            connection_info[_WROTE] = True
            return connection_info.setdefault(_PRIVATE_KEY, {})
        store = session.get_bind().url.render_as_string(hide_password=True)
        with _lock:
            found = _shared.get((store, stamp))
            if found is None or len(found) > MAX_ENTRIES:
                for stale in [key for key in _shared if key[0] == store]:
                    del _shared[stale]
                found = _shared[store, stamp] = {}
        session.info[_SHARED_KEY] = found
    return found


def _note_reference_write(conn: Connection) -> None:
    conn.info[_WROTE] = True
    conn.info.pop(_PRIVATE_KEY, None)  # what was looked up before this write may be out of date


stamps.on_write(TABLES, _note_reference_write)


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _transaction_over(conn: Connection) -> None:
    if conn.invalidated:  # its driver connection, and what was noted on it, are gone
        return
    conn.info.pop(_WROTE, None)
    conn.info.pop(_PRIVATE_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _next_transaction_reads_the_stamp_again(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # not a savepoint's end
        session.info.pop(_SHARED_KEY, None)
