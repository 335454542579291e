"""The duplicate check against the store: what ``dedup.find`` returns is exactly what scoring every
open case would give (the index's bounding box, strips and window lose nothing and let nothing
extra through), on both stores, across strip edges and the equator; and the store reads the
index made for it."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from cityops.cases import dedup
from cityops.cases.duplicates import DuplicateRule, Match, Sighting, rank
from cityops.cases.models import Case
from cityops.cases.states import OPEN_STATUSES
from cityops.categories import service as categories_service
from cityops.geo.locator import METRES_PER_DEGREE

T0 = datetime(2025, 9, 30, 8, 0, tzinfo=UTC)
RULE = DuplicateRule(radius_m=100, window=timedelta(hours=72))
STATUSES = [*OPEN_STATUSES, "closed", "merged", "rejected"]
WORDS = ["暴露垃圾", "小区门口", "路边", "垃圾桶满了", "井盖缺失", "有"]


@pytest.fixture
def categories(session: Session) -> dict[str, int]:
    for code, parent in (("E01", None), ("E0102", "E01"), ("E0103", "E01"), ("C01", None), ("C0101", "C01")):
        categories_service.create_category(session, code=code, name=code, kind="event", parent_code=parent,
                                           origin="test")
    return categories_service.category_ids(session, codes=["E0102", "E0103", "C0101"])


def add_case(session: Session, *, category_id: int | None, lon: float, lat: float, status: str = "reported",
             opened_at: datetime = T0, title: str = "暴露垃圾") -> Case:
    case = Case(tracking_code=uuid.uuid4().hex[:10].upper(), channel="hotline_12345", status=status, version=1,
                title=title, description="", category_id=category_id, lon=lon, lat=lat, area_path="/990000/",
                opened_at=opened_at)
    session.add(case)
    session.flush()
    return case


def by_scoring_every_open_case(session: Session, new: Case,
                               codes: dict[int, tuple[str, str | None]]) -> list[Match]:
    """What the check should find, without the store's help: every open case scored."""
    def sighting(case: Case) -> Sighting:
        code, parent = codes.get(case.category_id, (None, None))
        return Sighting(case_id=case.id, category_code=code, parent_code=parent, lon=case.lon, lat=case.lat,
                        at=case.opened_at, text=f"{case.title} {case.description}")

    others = session.scalars(select(Case).where(Case.status.in_(OPEN_STATUSES), Case.id != new.id))
    return rank(sighting(new), [sighting(c) for c in others], RULE, limit=10_000)


def in_order(matches: list[Match]) -> list[Match]:
    """Ties of score and distance broken by case, which ``rank`` leaves to the order it was given."""
    return sorted(matches, key=lambda m: (-m.score, m.distance_m, m.case_id))


@pytest.mark.parametrize("lon,lat", [(121.2, 31.05), (121.2, 31.0504), (121.2, -0.0003), (-73.98, 40.75)],
                         ids=["on-a-strip-edge", "inside-a-strip", "across-the-equator", "west-and-north"])
def test_find_returns_what_scoring_every_open_case_gives(session: Session, categories: dict[str, int],
                                                          lon: float, lat: float) -> None:
    rng = random.Random(f"{lon},{lat}")
    reach = 160 / METRES_PER_DEGREE  # past the 100 m radius, so cases lie on both sides of the box
    for _ in range(600):
        add_case(session, category_id=rng.choice([*categories.values(), None]),
                 lon=lon + rng.uniform(-reach, reach) * 1.2, lat=lat + rng.uniform(-reach, reach),
                 status=rng.choice(STATUSES), opened_at=T0 + timedelta(hours=rng.uniform(-100, 100)),
                 title="".join(rng.sample(WORDS, 3)))
    new = add_case(session, category_id=categories["E0102"], lon=lon, lat=lat, title="小区门口暴露垃圾")
    codes = {**categories_service.related_categories(session, code="E0102"),
             categories["C0101"]: ("C0101", "C01")}
    expected = by_scoring_every_open_case(session, new, codes)
    assert 10 < len(expected) < 150  # the draw puts cases on both sides of every limit
    assert in_order(dedup.find(session, case=new, rule=RULE, limit=10_000)) == in_order(expected)
    assert [m.score for m in dedup.find(session, case=new, rule=RULE)] == [m.score for m in expected[:5]]


def test_a_wide_radius_reads_a_range_of_strips_and_still_finds_them_all(session: Session,
                                                                         categories: dict[str, int]) -> None:
    rule = DuplicateRule(radius_m=2_000, window=timedelta(hours=72))
    strips = dedup.lat_strips(31.05 - 2_000 / METRES_PER_DEGREE, 31.05 + 2_000 / METRES_PER_DEGREE,
                              dialect=session.get_bind().dialect.name)
    assert len(strips) > dedup.MAX_STRIP_SEEKS
    far = [add_case(session, category_id=categories["E0103"], lon=121.2, lat=31.05 + north_m / METRES_PER_DEGREE)
           for north_m in (-1_990, -700, 0, 700, 1_990, 2_010)]
    new = add_case(session, category_id=categories["E0102"], lon=121.2, lat=31.05)
    found = dedup.find(session, case=new, rule=rule, limit=10)
    assert sorted(m.case_id for m in found) == sorted(c.id for c in far[:5])


def test_a_case_not_yet_stored_is_checked_too(session: Session, categories: dict[str, int]) -> None:
    stored = add_case(session, category_id=categories["E0102"], lon=121.2, lat=31.05)
    new = Case(category_id=categories["E0102"], lon=121.2, lat=31.0501, opened_at=T0, title="暴露垃圾",
               description="")
    assert [m.case_id for m in dedup.find(session, case=new, rule=RULE)] == [stored.id]


def bound_state(session: Session, statement, values):  # noqa: ANN001, ANN201
    """The statement's SQL as the check sends it, and its values as the driver gets them."""
    state = statement.compile(dialect=session.get_bind().dialect).construct_expanded_state(values)
    return state, {name: state.processors[name](value) if name in state.processors else value
                   for name, value in state.parameters.items()}


def sqlite_plan(session: Session, statement, values) -> str:  # noqa: ANN001
    state, bound = bound_state(session, statement, values)
    rows = session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + state.statement,
                                                tuple(bound[name] for name in state.positiontup))
    return " ".join(row[3] for row in rows)


def postgres_plans(session: Session, statement, values) -> list[dict]:  # noqa: ANN001
    """The custom plan (values known) and the generic one a prepared statement falls back to after
    five runs (values unknown), which psycopg's prepared statements make the usual one."""
    state, bound = bound_state(session, statement, values)
    names = list(bound)
    numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", state.statement)
    connection = session.connection()
    driver = connection.connection.dbapi_connection
    prepared = f"dedup_candidates_{uuid.uuid4().hex[:8]}"
    connection.exec_driver_sql(f"PREPARE {prepared} AS {numbered}")
    arguments = ", ".join(psycopg.sql.Literal(bound[name]).as_string(driver) for name in names)
    plans = []
    for mode in ("force_custom_plan", "force_generic_plan"):
        connection.exec_driver_sql(f"SET LOCAL plan_cache_mode = {mode}")
        explained = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE {prepared}({arguments})").scalar()
        plans.append(explained[0]["Plan"])
    connection.exec_driver_sql(f"DEALLOCATE {prepared}")
    return plans


@pytest.mark.parametrize("radius_m", [100, 2_000], ids=["strips-sought", "a-range-of-strips"])
def test_the_check_reads_the_index_made_for_it(session: Session, categories: dict[str, int], radius_m: int) -> None:
    """SQLite plans without statistics, as it runs; PostgreSQL from statistics, so it gets a few
    thousand cases over 90 days and a district, analysed, and is kept off whole-table scans."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        rng = random.Random(radius_m)
        session.execute(insert(Case), [
            {"tracking_code": f"P{i:09d}", "channel": "hotline_12345", "status": rng.choice(STATUSES), "version": 1,
             "title": "x", "description": "", "category_id": rng.choice(list(categories.values())),
             "lon": rng.uniform(121.15, 121.25), "lat": rng.uniform(31.0, 31.1), "area_path": "/990000/",
             "opened_at": T0 - timedelta(hours=rng.uniform(0, 90 * 24))} for i in range(5_000)])
    new = add_case(session, category_id=categories["E0102"], lon=121.2, lat=31.05)
    statement, values = dedup.candidate_query(
        case=new, rule=DuplicateRule(radius_m=radius_m, window=timedelta(hours=72)),
        category_ids=categories_service.related_categories(session, code="E0102"),
        dialect=session.get_bind().dialect.name)
    if not postgres:
        assert sqlite_plan(session, statement, values).startswith(
            "SEARCH cases USING INDEX ix_cases_duplicate_lookup (category_id=? AND status=? AND ")
        return
    session.execute(text("ANALYZE cases"))
    session.execute(text("SET LOCAL enable_seqscan = off"))  # a few thousand rows: a scan would do
    session.execute(text("SET LOCAL enable_bitmapscan = off"))
    for shown in postgres_plans(session, statement, values):
        assert shown["Index Name"] == "ix_cases_duplicate_lookup"
        assert "(lat * " in shown["Index Cond"] and "(lat * " not in shown.get("Filter", "")  # the strip is sought