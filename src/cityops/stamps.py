"""The store's change stamps (``change_stamps``), read in one query per transaction.

Every process keeps data that rarely changes — reference lookups, the locator, the work calendar,
the principals behind user tokens — until the stamp that covers it moves. Reading each stamp on its
own cost a request one query per cache; this reads them all at the first need and keeps them for the
rest of the transaction. A write in this transaction to a table a stamp covers (its trigger moves the
stamp) or to the stamps themselves reads them again at the next need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Session, SessionTransaction

from cityops.geo.models import ChangeStamp

COVERED_TABLES = frozenset({"change_stamps", "categories", "departments", "areas", "responsibilities",
                            "responsibility_assists", "calendar_days", "users", "placeholder_points"})
_KEY, _STALE = "cityops.stamps", "cityops.stamps.stale"
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


@event.listens_for(Engine, "before_cursor_execute")
def _stale_after_covered_writes(conn: Connection, cursor: object, statement: str, parameters: object,
                                context: object, executemany: bool) -> None:
    if written(statement) in COVERED_TABLES:
        conn.info[_STALE] = True


@event.listens_for(Session, "after_transaction_end")
def _read_again_in_the_next_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # not a savepoint's end
        session.info.pop(_KEY, None)
