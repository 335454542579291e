"""Sensing: device types, devices, readings (partitioned by month on PostgreSQL), 1-minute and
1-hour rollups and the latest value per device and metric.

PostgreSQL has no Alembic construct for a partitioned table, so ``readings`` is made there by
hand; its partitions are created as readings arrive (``cityops.sensing.store``). On SQLite the
readings and rollups are plain tables clustered on their keys (WITHOUT ROWID).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

import cityops.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _rollup(name: str) -> None:
    op.create_table(
        name,
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("bucket", cityops.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "metric", "bucket", name=f"pk_{name}"),
        sqlite_with_rowid=False,
    )
    op.create_index(f"ix_{name}_bucket", name, ["bucket"])


def upgrade() -> None:
    op.create_table(
        "device_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("offline_after_s", sa.Integer(), nullable=True),
        sa.Column("created_at", cityops.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_types")),
        sa.UniqueConstraint("code", name=op.f("uq_device_types_code")),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("area_path", sa.String(length=1024), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("installed_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_contact_at", cityops.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("api_client_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", cityops.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cityops.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["type_id"], ["device_types.id"], name=op.f("fk_devices_type_id_device_types")),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_devices_area_id_areas")),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name=op.f("fk_devices_department_id_departments")),
        sa.ForeignKeyConstraint(["api_client_id"], ["api_clients.id"],
                                name=op.f("fk_devices_api_client_id_api_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("code", name=op.f("uq_devices_code")),
    )
    for column in ("type_id", "area_id", "area_path", "department_id", "api_client_id"):
        op.create_index(op.f(f"ix_devices_{column}"), "devices", [column])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TABLE readings (device_id integer NOT NULL, metric varchar(64) NOT NULL, "
                   "ts timestamp with time zone NOT NULL, value double precision NOT NULL, "
                   "maintenance boolean NOT NULL, CONSTRAINT pk_readings PRIMARY KEY (device_id, metric, ts)) "
                   "PARTITION BY RANGE (ts)")
    else:
        op.create_table(
            "readings",
            sa.Column("device_id", sa.Integer(), nullable=False),
            sa.Column("metric", sa.String(length=64), nullable=False),
            sa.Column("ts", cityops.db.UTCDateTime(timezone=True), nullable=False),
            sa.Column("value", sa.Float(), nullable=False),
            sa.Column("maintenance", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("device_id", "metric", "ts", name="pk_readings"),
            sqlite_with_rowid=False,
        )
    op.create_index("ix_readings_ts", "readings", ["ts"])
    _rollup("reading_rollups_1m")
    _rollup("reading_rollups_1h")
    op.create_table(
        "reading_latest",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("ts", cityops.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("maintenance", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "metric", name="pk_reading_latest"),
    )


def downgrade() -> None:
    op.drop_table("reading_latest")
    for name in ("reading_rollups_1h", "reading_rollups_1m"):
        op.drop_index(f"ix_{name}_bucket", table_name=name)
        op.drop_table(name)
    op.drop_index("ix_readings_ts", table_name="readings")
    op.drop_table("readings")  # on PostgreSQL its partitions go with it
    for column in ("api_client_id", "department_id", "area_path", "area_id", "type_id"):
        op.drop_index(op.f(f"ix_devices_{column}"), table_name="devices")
    op.drop_table("devices")
    op.drop_table("device_types")
