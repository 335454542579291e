"""Full-text search over case text that works for Chinese: trigram indexes, which need no word
segmenter (SQLite FTS5 with the trigram tokenizer; PostgreSQL pg_trgm with a GIN index).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = {
    "cases_search_insert": "AFTER INSERT ON cases BEGIN INSERT INTO case_search(rowid, title, description) "
                           "VALUES (new.id, new.title, new.description); END",
    "cases_search_delete": "AFTER DELETE ON cases BEGIN INSERT INTO case_search(case_search, rowid, title, "
                           "description) VALUES ('delete', old.id, old.title, old.description); END",
    "cases_search_update": "AFTER UPDATE OF title, description ON cases BEGIN INSERT INTO case_search(case_search, "
                           "rowid, title, description) VALUES ('delete', old.id, old.title, old.description); "
                           "INSERT INTO case_search(rowid, title, description) VALUES (new.id, new.title, "
                           "new.description); END",
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE case_search USING fts5(title, description, content='cases', "
                   "content_rowid='id', tokenize='trigram')")
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        op.execute("INSERT INTO case_search(case_search) VALUES ('rebuild')")
        return
    # pg_trgm ships with PostgreSQL but needs the right to create it; without it search still works,
    # by a sequential scan.
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        savepoint.commit()
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return
    op.execute("CREATE INDEX ix_cases_text_trgm ON cases USING gin ((title || ' ' || description) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS case_search")
        return
    op.execute("DROP INDEX IF EXISTS ix_cases_text_trgm")
