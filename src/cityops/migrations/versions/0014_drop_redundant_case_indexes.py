"""Drop four indexes that each lead another one (the other serves every lookup they did), which
every case, timeline entry and duplicate suggestion written paid for: ``ix_cases_status``
(``ix_cases_status_area_path``), ``ix_cases_channel`` (``uq_cases_channel_external_id``),
``ix_case_events_case_id`` (``uq_case_events_case_version``) and ``ix_duplicate_suggestions_case_id``
(``uq_duplicate_suggestions_pair``). A bare write of an import's rows ran about 25 % faster without
them (bench/import.py).

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

REDUNDANT = (("cases", "ix_cases_status", "status"), ("cases", "ix_cases_channel", "channel"),
             ("case_events", "ix_case_events_case_id", "case_id"),
             ("duplicate_suggestions", "ix_duplicate_suggestions_case_id", "case_id"))


def upgrade() -> None:
    for table, name, _column in REDUNDANT:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, column in REDUNDANT:
        op.create_index(name, table, [column])
