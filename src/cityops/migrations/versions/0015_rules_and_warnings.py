"""Rules and warnings: warning rules (their definition as JSON), a rule's state per origin (device and
metric), warnings with a partial unique index that keeps one active warning per rule and origin, their
history entries, and silences.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

import cityops.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ACTIVE_WARNING = "status IN ('firing', 'acknowledged')"


def _time(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, cityops.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=True),
        sa.Column("scope_device_type", sa.String(length=64), nullable=True),
        sa.Column("scope_area", sa.String(length=64), nullable=True),
        sa.Column("scope_indicator", sa.String(length=64), nullable=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        _time("created_at"),
        _time("deactivated_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        sa.UniqueConstraint("code", name=op.f("uq_rules_code")),
    )
    op.create_index(op.f("ix_rules_active"), "rules", ["active"])
    op.create_table(
        "rule_states",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        _time("updated_at"),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], name=op.f("fk_rule_states_rule_id_rules")),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_rule_states_device_id_devices")),
        sa.PrimaryKeyConstraint("rule_id", "device_id", "metric", name="pk_rule_states"),
    )
    op.create_table(
        "warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("peak_level", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("area_path", sa.String(length=1024), nullable=False),
        _time("fired_at"),
        _time("updated_at"),
        _time("closed_at", nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], name=op.f("fk_warnings_rule_id_rules")),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_warnings_device_id_devices")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_warnings_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warnings")),
    )
    for column in ("rule_id", "device_id", "status", "area_path", "fired_at", "case_id"):
        op.create_index(op.f(f"ix_warnings_{column}"), "warnings", [column])
    op.create_index("uq_warnings_active_origin", "warnings", ["rule_id", "device_id", "metric"], unique=True,
                    postgresql_where=sa.text(ACTIVE_WARNING), sqlite_where=sa.text(ACTIVE_WARNING))
    op.create_table(
        "warning_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("from_level", sa.String(length=8), nullable=True),
        sa.Column("to_level", sa.String(length=8), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        _time("at"),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["warning_id"], ["warnings.id"],
                                name=op.f("fk_warning_entries_warning_id_warnings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_entries")),
        sa.UniqueConstraint("warning_id", "version", name="uq_warning_entries_warning_version"),
    )
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matchers", sa.JSON(), nullable=False),
        _time("starts_at"),
        _time("ends_at"),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("area_path", sa.String(length=1024), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silences")),
    )
    op.create_index(op.f("ix_silences_ends_at"), "silences", ["ends_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_silences_ends_at"), table_name="silences")
    op.drop_table("silences")
    op.drop_table("warning_entries")
    op.drop_index("uq_warnings_active_origin", table_name="warnings")
    for column in ("case_id", "fired_at", "area_path", "status", "device_id", "rule_id"):
        op.drop_index(op.f(f"ix_warnings_{column}"), table_name="warnings")
    op.drop_table("warnings")
    op.drop_table("rule_states")
    op.drop_index(op.f("ix_rules_active"), table_name="rules")
    op.drop_table("rules")
