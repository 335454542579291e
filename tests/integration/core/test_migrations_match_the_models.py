"""The Alembic migrations build exactly the schema the models describe, on both stores (hand-made
search and duplicate-check indexes aside), so a model change without its migration fails here."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import cityops.models  # noqa: F401  (every table on Base.metadata)
from cityops.db import Base, in_models


def test_the_migrated_store_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLite cannot reflect expression indexes; they are hand-made anyway
        context = MigrationContext.configure(connection, opts={"include_object": in_models,
                                                               "compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
