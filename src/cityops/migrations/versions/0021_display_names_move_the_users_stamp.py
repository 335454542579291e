"""A change of a user's display name moves the ``users`` change stamp (0018), so a process may keep
display names with the principals until they change: a case's answer names its people without a query.

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BUMP = "UPDATE change_stamps SET version = version + 1 WHERE name = 'users'"
PRINCIPAL = "username, area_id, department_id, roles, active"


def _watch(columns: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER users_users_changed ON users")
        op.execute(f"CREATE TRIGGER users_users_changed AFTER INSERT OR UPDATE OF {columns} OR DELETE OR TRUNCATE "
                   "ON users FOR EACH STATEMENT EXECUTE FUNCTION bump_users_stamp()")
        return
    op.execute("DROP TRIGGER users_users_update")
    op.execute(f"CREATE TRIGGER users_users_update AFTER UPDATE OF {columns} ON users BEGIN {BUMP}; END")


def upgrade() -> None:
    _watch(f"{PRINCIPAL}, display_name")


def downgrade() -> None:
    _watch(PRINCIPAL)
