"""A summoned department's report-in is a step deadline of its own (``case_deadlines.department_code``),
so the sweeper reminds, marks overdue and supervises it like any step.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_deadlines") as batch_op:
        batch_op.add_column(sa.Column("department_code", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_deadlines") as batch_op:
        batch_op.drop_column("department_code")
