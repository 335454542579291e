"""Indexes for an inbox of thousands of lines (a dispatcher of a busy district gets hundreds a day):
``ix_notifications_user_unread`` (user_id, read_at, id) serves the unread count, marking them all
read and paging through the unread ones, none of which then reads the user's read lines; and
``ix_notifications_user_newest`` (user_id, id) pages through all of them newest first. The latter
replaces ``ix_notifications_user_id``, which it leads. (On SQLite that one served the order too, its
entries ending in the rowid; PostgreSQL sorted all of a user's lines for a page, or, planning a
prepared statement for any user, walked every line's id backwards keeping the user's.)

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notifications_user_unread", "notifications", ["user_id", "read_at", "id"])
    op.create_index("ix_notifications_user_newest", "notifications", ["user_id", "id"])
    op.drop_index("ix_notifications_user_id", table_name="notifications")


def downgrade() -> None:
    op.create_index("ix_notifications_user_id", "notifications", ["user_id"])
    op.drop_index("ix_notifications_user_newest", table_name="notifications")
    op.drop_index("ix_notifications_user_unread", table_name="notifications")
