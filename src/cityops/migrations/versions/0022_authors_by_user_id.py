"""Warning rules, silences and indicators record the user who wrote them (``author_user_id``, None for an
API client or a system) beside the name they recorded (``author``), and show a user's current display
name by that id: looked up by login name, an API client named like some user's login was shown as
that user.

Rows written before only hold the name. Upgrade gives each the id of the user whose login name it
records, where there is one: the best these records allow, as they cannot tell a user from an API
client or a system of the same name. Downgrade drops the columns.

Both ways change the tables in place (on SQLite, ``ADD COLUMN … REFERENCES`` and ``DROP COLUMN``): a
batch would rebuild ``rules`` and ``indicators``, and dropping the old table fails while warnings
refer to their rows, as foreign keys are enforced.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TABLES = ("rules", "silences", "indicators")
users = sa.table("users", sa.column("id", sa.Integer), sa.column("username", sa.String))


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in TABLES:
        op.add_column(name, sa.Column("author_user_id", sa.Integer(), sa.ForeignKey(
            "users.id", name=op.f(f"fk_{name}_author_user_id_users")), nullable=True), inline_references=sqlite)
        table = sa.table(name, sa.column("author", sa.String), sa.column("author_user_id", sa.Integer))
        op.execute(table.update().values(author_user_id=sa.select(users.c.id).where(
            users.c.username == table.c.author).scalar_subquery()))


def downgrade() -> None:
    for name in TABLES:
        op.drop_column(name, "author_user_id")
