"""``calendar`` and ``users`` change stamps, bumped by triggers like ``reference`` (0011), so a
process keeps its work calendar and the principals behind user tokens until they change, and a
request reads every stamp it needs in one query (cityops.stamps).

``users`` moves only with the columns a principal is made of: a sign-in, which writes
``last_login_at``, keeps the principals.

Revision ID: 0018
Revises: 0017
"""

import secrets

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

WATCHED = {"calendar": ("calendar_days", None),
           "users": ("users", "username, area_id, department_id, roles, active")}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for stamp, (table, columns) in WATCHED.items():
        # a random start, as 0011's: a store made again at the same address never matches what a process kept
        op.execute(f"INSERT INTO change_stamps (name, version) VALUES ('{stamp}', {secrets.randbits(30)})")
        bump = f"UPDATE change_stamps SET version = version + 1 WHERE name = '{stamp}'"
        update = f"UPDATE OF {columns}" if columns else "UPDATE"
        if postgresql:
            op.execute(f"CREATE FUNCTION bump_{stamp}_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ "
                       f"BEGIN {bump}; RETURN NULL; END $$")
            op.execute(f"CREATE TRIGGER {table}_{stamp}_changed AFTER INSERT OR {update} OR DELETE OR TRUNCATE "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_{stamp}_stamp()")
            continue
        for change in ("insert", update.lower(), "delete"):  # SQLite has row triggers only
            op.execute(f"CREATE TRIGGER {table}_{stamp}_{change.split()[0]} AFTER {change.upper()} ON {table} "
                       f"BEGIN {bump}; END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for stamp, (table, _) in WATCHED.items():
        if postgresql:
            op.execute(f"DROP TRIGGER {table}_{stamp}_changed ON {table}")
            op.execute(f"DROP FUNCTION bump_{stamp}_stamp()")
        else:
            for change in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{stamp}_{change}")
        op.execute(f"DELETE FROM change_stamps WHERE name = '{stamp}'")
