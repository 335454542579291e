"""The store's change stamps (``change_stamps``), read in one query per transaction.

Every process keeps data that rarely changes — reference lookups, the locator, the work calendar,
the principals behind user tokens — until the stamp that covers it moves. Reading each stamp on its
own cost a request one query per cache; this reads them all at the first need and keeps them for the
rest of the transaction. A write in this transaction to a table a stamp covers (its trigger moves the
stamp) or to the stamps themselves reads them again at the next need.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Session, SessionTransaction

from cityops.geo.models import ChangeStamp

TRIGGERED_BY: Mapping[str, frozenset[str]] = {
    "reference": frozenset({"categories", "departments", "areas", "responsibilities", "responsibility_assists"}),
    "calendar": frozenset({"calendar_days"}),
    "users": frozenset({"users"}),
}
"""The tables whose writes move each stamp, by triggers (migrations 0011 and 0018). ``areas`` is
moved by the code that changes areas or placeholders, a write to ``change_stamps`` itself."""
COVERED_TABLES = frozenset({"change_stamps"}).union(*TRIGGERED_BY.values())
_KEY, _STALE, _WRITTEN = "cityops.stamps", "cityops.stamps.stale", "cityops.stamps.written"
_on_write: list[tuple[frozenset[str], Callable[[Connection], None]]] = []
_WRITE = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+"?(\w+)',
                    re.IGNORECASE)


def current(session: Session) -> Mapping[str, int]:
    """Every stamp's version, by name, as this transaction sees it (a stamp its migration has not
    made yet is missing)."""
    stale = session.connection().info.pop(_STALE, False)
    found = session.info.get(_KEY)
    if found is None or stale:
        found = session.info[_KEY] = dict(session.execute(select(ChangeStamp.name, ChangeStamp.version)).all())
    return found


def written(statement: str) -> str | None:
    """The table a write statement changes (None for a read)."""
    match = _WRITE.match(statement)
    return match.group(1).lower() if match is not None else None


def written_in_transaction(connection: Connection) -> frozenset[str]:
    """The stamps whose tables this connection's open transaction has written: what it reads under
    them is its own until it commits, and must not be kept for others (a rollback takes the moved
    stamp back, and another transaction may move it to the same version with other data)."""
    return frozenset(connection.info.get(_WRITTEN, ()))


def on_write(tables: frozenset[str], note: Callable[[Connection], None]) -> None:
    """Call ``note`` with the connection whenever a statement writes one of ``tables``."""
    _on_write.append((tables, note))


@event.listens_for(Engine, "before_cursor_execute")
def _stale_after_covered_writes(conn: Connection, cursor: object, statement: str, parameters: object,
                                context: object, executemany: bool) -> None:
    # one look at each statement, for every cache keyed by a stamp
    table = written(statement)
    if table not in COVERED_TABLES:
        return
    conn.info[_STALE] = True
    conn.info.setdefault(_WRITTEN, set()).update(name for name, tables in TRIGGERED_BY.items() if table in tables)
    for tables, note in _on_write:
        if table in tables:
            note(conn)


@event.listens_for(Session, "after_transaction_end")
def _read_again_in_the_next_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # not a savepoint's end
        session.info.pop(_KEY, None)


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _transaction_over(conn: Connection) -> None:
    if not conn.invalidated:
        conn.info.pop(_WRITTEN, None)
