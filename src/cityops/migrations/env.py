"""Alembic environment: runs on the connection handed over by ``cityops.db.migrate``, or on
``CITYOPS_DATABASE_URL`` when invoked from the ``alembic`` command line."""

from alembic import context

from cityops import models  # noqa: F401  (registers every table on Base.metadata)
from cityops.db import Base, get_engine

target_metadata = Base.metadata


# Search structures made by hand in migration 0009 (FTS5 tables, trigram index) are not in the models.
HAND_MADE = ("case_search", "ix_cases_text_trgm", "ix_cases_duplicate_lookup")


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    return not (name or "").startswith(HAND_MADE)


def run_migrations(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    with get_engine().begin() as own_connection:
        run_migrations(own_connection)
