"""Alembic environment: runs on the connection handed over by ``cityops.db.migrate``, or on
``CITYOPS_DATABASE_URL`` when invoked from the ``alembic`` command line."""

from alembic import context

from cityops import models  # noqa: F401  (registers every table on Base.metadata)
from cityops.db import Base, get_engine, in_models

target_metadata = Base.metadata
include_object = in_models


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
