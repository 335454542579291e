"""Indexes for a department's queues (GET /cases?queue=… and the counts of GET /cases/queues), which
look cases up by department: every list and count of a department's staff reads the cases its
department holds (``case_assignments.department_code``), its to_acknowledge and to_handle those it holds
in a given state (and ``status``), its summoned queue the report-in deadlines it has still to meet
(``case_deadlines.department_code`` and ``met_at``, soonest ``due_at`` first) and its department queue
every summons it was given. Without them SQLite read every assignment, and every open deadline or the
whole of ``case_deadlines``, for each of these (a handler's queue list with 50,000 cases: bench/handler_queues.py).

- ``ix_case_assignments_department_status`` (department_code, status, case_id): the case id in the key,
  so neither store reads the table for it. It replaces ``ix_case_assignments_status``, which no query
  reads without the department (the department's part is what the queues ask about).
- ``ix_case_deadlines_department`` (department_code, met_at, due_at), partial: only a summons' report-in
  names a department, so the case steps (most of the table) are not in it. Both planners prove that
  ``department_code = …`` falls within ``department_code IS NOT NULL``.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

OF_A_DEPARTMENT = "department_code IS NOT NULL"


def upgrade() -> None:
    op.create_index("ix_case_assignments_department_status", "case_assignments",
                    ["department_code", "status", "case_id"])
    op.drop_index("ix_case_assignments_status", table_name="case_assignments")
    op.create_index("ix_case_deadlines_department", "case_deadlines", ["department_code", "met_at", "due_at"],
                    postgresql_where=sa.text(OF_A_DEPARTMENT), sqlite_where=sa.text(OF_A_DEPARTMENT))


def downgrade() -> None:
    op.drop_index("ix_case_deadlines_department", table_name="case_deadlines")
    op.create_index("ix_case_assignments_status", "case_assignments", ["status"])
    op.drop_index("ix_case_assignments_department_status", table_name="case_assignments")
