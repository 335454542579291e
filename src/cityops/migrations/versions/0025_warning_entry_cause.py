"""A warning's history keeps why a case was not opened as the screens say it (``warning_entries.cause``):
the refusal's problem code and the values its text names, the failures in a row and when it is tried
again. The entry's ``reason`` stays the API's English words; the console's warning drawer says the
cause in the user's language from the problem texts, as the inbox does. Entries written before keep
no cause and are shown by their reason.

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("warning_entries", sa.Column("cause", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("warning_entries", "cause")
