"""A ``reference`` change stamp that triggers bump on every write to categories, departments,
areas and the responsibility matrix, so each process can keep its lookups of them until they
change (cityops.reference). It starts at a random value so a store created again at the same
address never matches lookups a process kept from the old one.

Revision ID: 0011
Revises: 0010
"""

import secrets

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("categories", "departments", "areas", "responsibilities", "responsibility_assists")
BUMP = "UPDATE change_stamps SET version = version + 1 WHERE name = 'reference'"


def upgrade() -> None:
    op.execute(f"INSERT INTO change_stamps (name, version) VALUES ('reference', {secrets.randbits(30)})")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE FUNCTION bump_reference_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN {BUMP}; RETURN NULL; END $$")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_reference_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_stamp()")
        return
    for table in TABLES:  # SQLite has row triggers only
        for change in ("insert", "update", "delete"):
            op.execute(f"CREATE TRIGGER {table}_reference_{change} AFTER {change.upper()} ON {table} "
                       f"BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_reference_changed ON {table}")
        op.execute("DROP FUNCTION bump_reference_stamp()")
    else:
        for table in TABLES:
            for change in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_reference_{change}")
    op.execute("DELETE FROM change_stamps WHERE name = 'reference'")
