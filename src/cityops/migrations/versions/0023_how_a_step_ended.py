"""A step's deadline row says how it ended (``case_deadlines.ended``): its work done (``met``), the case
returned to the centre by a department (``returned``), or the clock stopped by a deferral (``deferred``).
Before, a return ended the step like its work done, and the case page read 「已完成」 for a handling
step whose part the return had withdrawn.

Upgrade adds the column and derives it for every ended row from the timeline: a step of the case
(not a summons' report-in) that ended at the instant of one of its case's returns was ended by that
return, one that ended at a deferral by the deferral, any other by its work done. It also writes each
summons' report-in limit as the time the summons gave, to the minute (``670m``), where it had been
rounded up to whole hours (``12h`` for 11 h 10 min). Downgrade drops the column and rounds those
limits up to hours again.

Revision ID: 0023
Revises: 0022
"""

import math

import sqlalchemy as sa
from alembic import op

from cityops.db import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

REPORT_IN = "report_in"
MAX_MINUTES = 366 * 24 * 60
deadlines = sa.table("case_deadlines", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
                     sa.column("step", sa.String), sa.column("time_limit", sa.String),
                     sa.column("started_at", UTCDateTime), sa.column("due_at", UTCDateTime),
                     sa.column("met_at", UTCDateTime), sa.column("ended", sa.String),
                     sa.column("department_code", sa.String))
events = sa.table("case_events", sa.column("case_id", sa.Integer), sa.column("action", sa.String),
                  sa.column("at", UTCDateTime))


def _ended_by(action: str) -> sa.Exists:
    return sa.exists().where(events.c.case_id == deadlines.c.case_id, events.c.action == action,
                             events.c.at == deadlines.c.met_at)


def _minutes(row: sa.Row) -> int:
    return max(1, math.ceil((row.due_at - row.started_at).total_seconds() / 60))


def _rewrite_limits(connection: sa.Connection, limit_of) -> None:
    changes = []
    for row in connection.execute(sa.select(deadlines.c.id, deadlines.c.time_limit, deadlines.c.started_at,
                                            deadlines.c.due_at).where(deadlines.c.step == REPORT_IN)):
        limit = limit_of(_minutes(row))
        if limit != row.time_limit:
            changes.append({"row_id": row.id, "limit": limit})
    if changes:
        connection.execute(sa.update(deadlines).where(deadlines.c.id == sa.bindparam("row_id"))
                           .values(time_limit=sa.bindparam("limit")), changes)


def upgrade() -> None:
    op.add_column("case_deadlines", sa.Column("ended", sa.String(16), nullable=True))
    connection = op.get_bind()
    case_step = deadlines.c.department_code.is_(None)
    connection.execute(sa.update(deadlines).where(deadlines.c.met_at.is_not(None)).values(ended=sa.case(
        (case_step & _ended_by("return"), "returned"), (case_step & _ended_by("defer"), "deferred"), else_="met")))
    _rewrite_limits(connection, lambda minutes: f"{math.ceil(minutes / 60)}h"
                    if minutes % 60 == 0 or minutes > MAX_MINUTES else f"{minutes}m")


def downgrade() -> None:
    op.drop_column("case_deadlines", "ended")
    _rewrite_limits(op.get_bind(), lambda minutes: f"{math.ceil(minutes / 60)}h")
