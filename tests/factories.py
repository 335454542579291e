"""Factories for tests: a small city with real nesting on simple square polygons, and people.

The test city ``T`` (code 990000) has two districts, each with two streets, each with two grids,
each with one community — enough to prove jurisdiction boundaries without the demo data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

import cityops.db
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area
from cityops.org import service as org_service
from cityops.org.models import User

PASSWORD = "correct-horse-battery"
ORIGIN_LON, ORIGIN_LAT = 121.0, 31.0


@dataclass
class TestCity:
    areas: dict[str, Area] = field(default_factory=dict)

    def __getitem__(self, code: str) -> Area:
        return self.areas[code]


def make_city(session: Session) -> TestCity:
    """City 990000 over [121.0, 121.4] × [31.0, 31.2]; district 9901dd, street 9901ddss, grid …gg,
    community …gg01. Each level halves its parent along longitude."""
    city = TestCity()

    def add(code: str, name: str, level: AreaLevel, parent: Area | None, bounds: tuple[float, ...]) -> Area:
        area = geo_service.create_area(session, code=code, name=name, level=level, parent=parent,
                                       geometry=box(*bounds), origin="test")
        city.areas[code] = area
        return area

    root = add("990000", "测试市", AreaLevel.city, None, (121.0, 31.0, 121.4, 31.2))
    for d in range(2):
        d_code = f"9901{d + 1:02d}"
        d_box = (121.0 + 0.2 * d, 31.0, 121.2 + 0.2 * d, 31.2)
        district = add(d_code, f"测试{d + 1}区", AreaLevel.district, root, d_box)
        for s in range(2):
            s_code = f"{d_code}{s + 1:02d}"
            s_box = (d_box[0] + 0.1 * s, 31.0, d_box[0] + 0.1 * (s + 1), 31.2)
            street = add(s_code, f"测试{d + 1}区第{s + 1}街道", AreaLevel.street, district, s_box)
            for g in range(2):
                g_code = f"{s_code}{g + 1:02d}"
                g_box = (s_box[0], 31.0 + 0.1 * g, s_box[2], 31.1 + 0.1 * g)
                grid = add(g_code, f"{street.name}第{g + 1}网格", AreaLevel.grid, street, g_box)
                add(f"{g_code}01", f"{grid.name}社区", AreaLevel.community, grid, g_box)
    return city


def make_user(session: Session, *, username: str, roles: list[str], area_code: str,
              department_code: str | None = None) -> User:
    return org_service.create_user(session, username=username, display_name=username, password=PASSWORD,
                                   area_code=area_code, roles=roles, department_code=department_code,
                                   origin="test")


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers for ``username``."""
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def statements_and_values_during(engine: Engine, action: Callable[[], object]) -> list[tuple[str, Any]]:
    """The SQL statements ``action`` sends to ``engine``, in order, each with the values sent with it."""
    seen: list[tuple[str, Any]] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def statements_during(engine: Engine, action: Callable[[], object]) -> list[str]:
    """The SQL statements ``action`` sends to ``engine``, in order."""
    return [statement for statement, _ in statements_and_values_during(engine, action)]


def query_plan(session: Session, statement: str, values: Any) -> str:
    """The store's plan for ``statement`` as one line: SQLite's steps, or PostgreSQL's nodes with their
    index and conditions."""
    connection = session.connection()
    if session.get_bind().dialect.name == "sqlite":
        return " | ".join(row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, values))

    def nodes(node: dict) -> Iterator[str]:
        yield (f"{node['Node Type']} {node.get('Index Name', '')} cond={node.get('Index Cond', '')} "
               f"filter={node.get('Filter', '')}")
        for child in node.get("Plans", ()):
            yield from nodes(child)

    explained = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, values).scalar()
    return " | ".join(nodes(explained[0]["Plan"]))


def downgrade(engine: Engine, revision: str) -> None:
    """Take the store back to migration ``revision`` (``cityops.db.migrate`` brings it up again)."""
    config = Config()
    config.set_main_option("script_location", str(Path(cityops.db.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
