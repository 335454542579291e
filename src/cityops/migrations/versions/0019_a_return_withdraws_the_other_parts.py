"""A return by one department of a joint case withdraws every other department's part that has not
reported (``cityops.cases.joint``), and the return's timeline entry lists them as ``withdrawn``.

Returns recorded before left those parts as they were, and their entries list nobody: replay now
derives the list, so it would refuse them as edited. Upgrade gives each past return's entry the
departments it left outstanding, worked out from the joint-handling moves before it under the rules
of the time, and marks those parts ``withdrawn`` on the cases still waiting in ``returned``.
Downgrade takes both back. No table changes.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

events = sa.table("case_events", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
                  sa.column("version", sa.Integer), sa.column("action", sa.String),
                  sa.column("to_status", sa.String), sa.column("actor_department", sa.String),
                  sa.column("data", sa.JSON))
assignments = sa.table("case_assignments", sa.column("case_id", sa.Integer),
                       sa.column("department_code", sa.String), sa.column("status", sa.String))
cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("status", sa.String))

ACTIVE = ("waiting", "dispatched", "in_progress")
BATCH = 500


def _walk(rows: Iterable[Any]) -> tuple[dict[int, list[str]], dict[str, str]]:
    """One case's joint handling under the rules before this revision: for each return (by entry id)
    the other departments it left outstanding, and each department's status after the last entry."""
    roster: list[str] = []
    status: dict[str, str] = {}
    serial = False
    outstanding: dict[int, list[str]] = {}
    for row in rows:
        data = row.data or {}
        if row.action in ("dispatch", "reassign"):
            roster = [data["lead"].strip(), *(code.strip() for code in data.get("assisting", ()))]
            serial = data.get("mode") == "serial"
            status = {code: "waiting" if serial and position else "dispatched" for position, code in enumerate(roster)}
        elif row.action == "acknowledge":
            status[row.actor_department] = "in_progress"
        elif row.action == "report":
            status[row.actor_department] = "reported"
            following = next((code for code in roster if status[code] == "waiting"), None)
            if serial and following is not None:
                status[following] = "dispatched"
        elif row.action in ("verify", "reopen") and row.to_status == "in_progress" and roster:
            status[roster[0]] = "in_progress"  # rework goes back to the lead
        elif row.action == "return":
            status[row.actor_department] = "returned"
            outstanding[row.id] = [code for code in roster if status[code] in ACTIVE]
    return outstanding, status


def _returned_cases(connection: sa.Connection) -> Iterable[tuple[int, list[Any]]]:
    """Each case with a return, with its joint-handling entries in order, a batch of cases at a time."""
    case_ids = sorted(connection.scalars(sa.select(events.c.case_id).where(events.c.action == "return").distinct()))
    for first in range(0, len(case_ids), BATCH):
        batch = case_ids[first:first + BATCH]
        rows: dict[int, list[Any]] = {case_id: [] for case_id in batch}
        for row in connection.execute(sa.select(events).where(
                events.c.case_id.in_(batch), events.c.action.in_(
                    ("dispatch", "reassign", "acknowledge", "report", "verify", "reopen", "return")))
                .order_by(events.c.case_id, events.c.version)):
            rows[row.case_id].append(row)
        yield from rows.items()


def _rewrite(connection: sa.Connection, changes: Sequence[dict[str, Any]]) -> None:
    if changes:
        connection.execute(sa.update(events).where(events.c.id == sa.bindparam("entry_id"))
                           .values(data=sa.bindparam("new_data", type_=sa.JSON)), list(changes))


def upgrade() -> None:
    connection = op.get_bind()
    changes = []
    for _case_id, rows in _returned_cases(connection):
        outstanding, _status = _walk(rows)
        for row in rows:
            if row.action != "return":
                continue
            # a ``withdrawn`` a caller sent along was kept then; replay drops it now, as derived
            data = {key: value for key, value in (row.data or {}).items() if key != "withdrawn"}
            if outstanding[row.id]:
                data["withdrawn"] = outstanding[row.id]
            if data != (row.data or {}):
                changes.append({"entry_id": row.id, "new_data": data})
    _rewrite(connection, changes)
    connection.execute(sa.update(assignments).where(
        assignments.c.status.in_(ACTIVE),
        assignments.c.case_id.in_(sa.select(cases.c.id).where(cases.c.status == "returned")))
        .values(status="withdrawn"))


def downgrade() -> None:
    connection = op.get_bind()
    returned = set(connection.scalars(sa.select(cases.c.id).where(cases.c.status == "returned")))
    changes = []
    for case_id, rows in _returned_cases(connection):
        changes += [{"entry_id": row.id, "new_data": {k: v for k, v in row.data.items() if k != "withdrawn"}}
                    for row in rows if row.action == "return" and "withdrawn" in (row.data or {})]
        if case_id in returned:
            _outstanding, status = _walk(rows)
            for department, was in status.items():
                connection.execute(sa.update(assignments).where(
                    assignments.c.case_id == case_id, assignments.c.department_code == department,
                    assignments.c.status == "withdrawn").values(status=was))
    _rewrite(connection, changes)
