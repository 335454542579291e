"""Indicators (体征): their classes, the catalogue, a series of values per indicator, area and time
bucket, the latest value per indicator and area, the minutes of metrics ingest changed (marks the
indicator job works off), rule states per indicator and area; warnings may now come from an indicator
in an area instead of a device, with their own partial unique index on the active one per rule and
origin.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

import cityops.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ACTIVE_WARNING = "status IN ('firing', 'acknowledged')"


def _time(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, cityops.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "indicator_classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_classes")),
        sa.UniqueConstraint("code", name=op.f("uq_indicator_classes_code")),
    )
    op.create_table(
        "indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=True),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("area_path", sa.String(length=1024), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        _time("created_at"),
        _time("computed_until", nullable=True),
        _time("fed_until", nullable=True),
        sa.ForeignKeyConstraint(["class_id"], ["indicator_classes.id"],
                                name=op.f("fk_indicators_class_id_indicator_classes")),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_indicators_area_id_areas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicators")),
        sa.UniqueConstraint("code", name=op.f("uq_indicators_code")),
    )
    op.create_index(op.f("ix_indicators_class_id"), "indicators", ["class_id"])
    op.create_index(op.f("ix_indicators_metric"), "indicators", ["metric"])
    op.create_table(
        "indicator_values",
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        _time("bucket"),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("indicator_id", "area_id", "bucket", name="pk_indicator_values"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_indicator_values_indicator_bucket", "indicator_values", ["indicator_id", "bucket"])
    op.create_table(
        "indicator_latest",
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=64), nullable=False),
        sa.Column("area_path", sa.String(length=1024), nullable=False),
        _time("bucket"),
        sa.Column("value", sa.Float(), nullable=False),
        _time("updated_at"),
        sa.ForeignKeyConstraint(["indicator_id"], ["indicators.id"],
                                name=op.f("fk_indicator_latest_indicator_id_indicators")),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_indicator_latest_area_id_areas")),
        sa.PrimaryKeyConstraint("indicator_id", "area_id", name="pk_indicator_latest"),
    )
    op.create_index(op.f("ix_indicator_latest_area_path"), "indicator_latest", ["area_path"])
    op.create_table(
        "indicator_marks",
        sa.Column("metric", sa.String(length=64), nullable=False),
        _time("minute"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "minute", name="pk_indicator_marks"),
    )
    op.create_table(
        "indicator_rule_states",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        _time("updated_at"),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], name=op.f("fk_indicator_rule_states_rule_id_rules")),
        sa.ForeignKeyConstraint(["indicator_id"], ["indicators.id"],
                                name=op.f("fk_indicator_rule_states_indicator_id_indicators")),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_indicator_rule_states_area_id_areas")),
        sa.PrimaryKeyConstraint("rule_id", "indicator_id", "area_id", name="pk_indicator_rule_states"),
    )
    # SQLite rebuilds the table to change a column; its partial index is dropped first and made again after
    op.drop_index("uq_warnings_active_origin", table_name="warnings")
    with op.batch_alter_table("warnings") as batch:
        batch.alter_column("device_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("indicator_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_warnings_indicator_id_indicators"), "indicators", ["indicator_id"], ["id"])
        batch.create_index(op.f("ix_warnings_indicator_id"), ["indicator_id"])
    op.create_index("uq_warnings_active_origin", "warnings", ["rule_id", "device_id", "metric"], unique=True,
                    postgresql_where=sa.text(ACTIVE_WARNING), sqlite_where=sa.text(ACTIVE_WARNING))
    op.create_index("uq_warnings_active_indicator_origin", "warnings", ["rule_id", "indicator_id", "origin"],
                    unique=True, postgresql_where=sa.text(ACTIVE_WARNING), sqlite_where=sa.text(ACTIVE_WARNING))


def downgrade() -> None:
    op.drop_index("uq_warnings_active_indicator_origin", table_name="warnings")
    op.drop_index("uq_warnings_active_origin", table_name="warnings")
    op.execute("DELETE FROM warning_entries WHERE warning_id IN (SELECT id FROM warnings WHERE device_id IS NULL)")
    op.execute("DELETE FROM warnings WHERE device_id IS NULL")
    with op.batch_alter_table("warnings") as batch:
        batch.drop_index(op.f("ix_warnings_indicator_id"))
        batch.drop_constraint(op.f("fk_warnings_indicator_id_indicators"), type_="foreignkey")
        batch.drop_column("indicator_id")
        batch.alter_column("device_id", existing_type=sa.Integer(), nullable=False)
    op.create_index("uq_warnings_active_origin", "warnings", ["rule_id", "device_id", "metric"], unique=True,
                    postgresql_where=sa.text(ACTIVE_WARNING), sqlite_where=sa.text(ACTIVE_WARNING))
    op.drop_table("indicator_rule_states")
    op.drop_table("indicator_marks")
    op.drop_index(op.f("ix_indicator_latest_area_path"), table_name="indicator_latest")
    op.drop_table("indicator_latest")
    op.drop_index("ix_indicator_values_indicator_bucket", table_name="indicator_values")
    op.drop_table("indicator_values")
    op.drop_index(op.f("ix_indicators_metric"), table_name="indicators")
    op.drop_index(op.f("ix_indicators_class_id"), table_name="indicators")
    op.drop_table("indicators")
    op.drop_table("indicator_classes")
