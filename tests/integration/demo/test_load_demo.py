"""Loading the demo city into a real store (SQLite, and PostgreSQL when configured).

Loading Shanghai takes seconds, so these checks share one load per backend, rolled back at the end
of the module (tests that need an empty store are in ``test_demo_guards.py``: SQLite allows one
writer, and the shared load holds it). The city is loaded without its month of cases, which
``test_demo_cases.py`` checks.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest
import shapely
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cityops.cases.models import Case
from cityops.demo import catalogue
from cityops.demo.service import DemoSummary, load_demo
from cityops.geo import service as geo_service
from cityops.geo.coords import Crs, convert
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area, PlaceholderPoint
from cityops.org import responsibility
from cityops.org import service as org_service
from cityops.org.models import Department, OpsCentre, Responsibility, User
from tests.conftest import SHARED_DATA, needs_shared_data

pytestmark = needs_shared_data
PASSWORD = "demo-pass-123"
CHINA = SHARED_DATA / "china"


def listing(city_id: str) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """District code → name, and street code → (name, district code), straight from the CSV."""
    with (CHINA / "shanghai_nanjing_level4.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    districts = {r["id"]: r["ext_name"] for r in rows if r["deep"] == "2" and r["pid"] == city_id}
    streets = {r["id"]: (r["ext_name"], r["pid"]) for r in rows if r["deep"] == "3" and r["pid"] in districts}
    return districts, streets


def areas_by_level(session: Session, city_code: str) -> dict[str, list[Area]]:
    found = defaultdict(list)
    for area in session.scalars(select(Area).where(Area.path.startswith(f"/{city_code}/"))):
        found[area.level].append(area)
    return found


def row_counts(session: Session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Area, Department, OpsCentre, User, Responsibility, PlaceholderPoint, Case)}


@pytest.fixture(scope="module")
def shanghai(engine: Engine) -> Iterator[tuple[Session, DemoSummary]]:
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db, load_demo(db, city="shanghai", data_dir=SHARED_DATA, password=PASSWORD, cases=0)
    finally:
        db.close()
        outer.rollback()
        connection.close()


def test_summary_counts_every_level(shanghai: tuple[Session, DemoSummary]) -> None:
    db, summary = shanghai
    assert summary.created and summary.city_code == "310000" and summary.city_name == "上海市"
    assert summary.warnings == []
    assert summary.areas["city"] == 1
    assert summary.areas["district"] == 16
    assert summary.areas["street"] == 216
    assert 4 * 216 <= summary.areas["grid"] <= 6 * 216
    assert 2 * summary.areas["grid"] <= summary.areas["community"] <= 3 * summary.areas["grid"]
    assert summary.ops_centres == 1 + 16 + 216
    assert summary.placeholders == 1
    assert summary.cases is not None and summary.cases.made == 0  # loaded with --cases 0: none
    assert db.scalar(select(func.count()).select_from(Case)) == 0
    assert len(summary.logins) == 18


def test_sixteen_real_districts(shanghai: tuple[Session, DemoSummary]) -> None:
    db, _ = shanghai
    boundaries = json.loads((CHINA / "shanghai_310000_districts.json").read_text("utf-8"))
    expected = {str(f["properties"]["adcode"]): f["properties"]["name"] for f in boundaries["features"]}
    levels = areas_by_level(db, "310000")
    assert {a.code: a.name for a in levels["district"]} == expected
    assert {a.code: a.name for a in levels["district"]} == listing("3101")[0]
    city = levels["city"][0]
    assert (city.code, city.name, city.synthetic) == ("310000", "上海市", False)
    assert not any(a.synthetic for a in levels["district"])
    assert all(a.origin == "demo" for level in levels.values() for a in level)


def test_streets_carry_their_official_names_and_codes(shanghai: tuple[Session, DemoSummary]) -> None:
    db, _ = shanghai
    levels = areas_by_level(db, "310000")
    district_of = {a.id: a.code for a in levels["district"]}
    found = {a.code: (a.name, district_of[a.parent_id]) for a in levels["street"]}
    assert found == listing("3101")[1]
    assert found["310101002"] == ("南京东路街道", "310101")
    assert found["310112501"] == ("莘庄工业区", "310112")
    assert all(a.synthetic for a in levels["street"])


def test_grids_and_communities_below_every_street(shanghai: tuple[Session, DemoSummary]) -> None:
    db, _ = shanghai
    levels = areas_by_level(db, "310000")
    by_id = {a.id: a for level in levels.values() for a in level}
    grids_per_street = Counter(by_id[g.parent_id].code for g in levels["grid"])
    assert set(grids_per_street) == {s.code for s in levels["street"]}
    assert set(grids_per_street.values()) <= {4, 5, 6}
    communities_per_grid = Counter(by_id[c.parent_id].code for c in levels["community"])
    assert set(communities_per_grid) == {g.code for g in levels["grid"]}
    assert set(communities_per_grid.values()) <= {2, 3}
    for grid in levels["grid"]:
        street = by_id[grid.parent_id]
        assert grid.code[:-2] == street.code and grid.name == f"{street.name}第{grid.code[-2:]}网格"
        assert grid.synthetic
    for community in levels["community"]:
        grid = by_id[community.parent_id]
        street = by_id[grid.parent_id]
        assert community.code[:-2] == grid.code and community.name.startswith(street.name)
        assert community.name.endswith("居委" if street.name.endswith("街道") else "社区")
        assert community.synthetic
    assert by_id[levels["community"][0].id].path.count("/") == 6


def test_children_tile_their_parent_exactly(shanghai: tuple[Session, DemoSummary]) -> None:
    db, _ = shanghai
    rows = db.execute(select(Area.id, Area.parent_id, Area.level, Area.geometry_wkb).where(
        Area.path.startswith("/310000/"))).all()
    geometry = {r.id: shapely.from_wkb(r.geometry_wkb) for r in rows}
    assert all(g.is_valid and not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon")
               for g in geometry.values())
    children = defaultdict(list)
    for r in rows:
        if r.parent_id is not None and r.level != "district":
            children[r.parent_id].append(geometry[r.id])
    assert len(children) == 16 + 216 + len([r for r in rows if r.level == "grid"])
    for parent_id, parts in children.items():
        parent = geometry[parent_id]
        assert sum(p.area for p in parts) == pytest.approx(parent.area, rel=1e-9)
        assert shapely.union_all(parts).symmetric_difference(parent).area <= 1e-9 * parent.area
        assert all(p.difference(parent).area <= 1e-9 * p.area for p in parts)


def test_departments_and_a_fallback_in_every_street(shanghai: tuple[Session, DemoSummary]) -> None:
    db, summary = shanghai
    levels = areas_by_level(db, "310000")
    per_level = {level: len(units) for level, units in catalogue.DEPARTMENTS.items()}
    assert summary.departments == per_level[AreaLevel.city] + 16 * per_level[AreaLevel.district] \
        + 216 * per_level[AreaLevel.street]
    fallbacks = org_service.fallback_departments(db)
    assert {a.id for a in levels["street"]} <= set(fallbacks)
    street = {a.code: a.id for a in levels["street"]}
    name_of = dict(db.execute(select(Department.code, Department.name)).all())
    assert name_of[fallbacks[street["310101002"]]] == "南京东路街道办事处"
    assert name_of[fallbacks[street["310112102"]]] == "七宝镇人民政府"
    assert name_of[fallbacks[street["310112501"]]] == "莘庄工业区管理委员会"
    names = set(db.scalars(select(Department.name)))
    assert {"上海市绿化市容局", "黄浦区城管执法局", "浦东新区建管委", "南京东路街道城管执法中队"} <= names
    centres = set(db.scalars(select(OpsCentre.name)))
    assert {"上海市城运中心", "黄浦区城运中心", "南京东路街道城运中心"} <= centres


@pytest.mark.parametrize(("category", "area", "lead", "assisting"), [
    ("E0102", "3101010020101", "310101-greenery", ()),  # 暴露垃圾 → district greenery
    ("E0501", "3101010020101", "310101002-enforcement", ("310101-market",)),  # street override in 黄浦
    ("E0501", "31011500401", "310115-enforcement", ("310115-market",)),  # district cell elsewhere
    ("C0105", "31011500401", "310000-power", ()),  # 电力井盖 → the city's power company
    ("C0114", "3101010020101", "310101002-street_office", ()),  # 无主井盖 → 属地兜底
    ("E0101", "310104003", "310104-enforcement", ("310104-housing", "310104-planning")),
])
def test_matrix_routes_cases(shanghai: tuple[Session, DemoSummary], category: str, area: str, lead: str,
                             assisting: tuple[str, ...]) -> None:
    db, _ = shanghai
    decision = responsibility.route_case(db, category_code=category, area_code=area)
    assert decision.lead == lead
    assert tuple(decision.assisting) == assisting


def test_matrix_cell_counts(shanghai: tuple[Session, DemoSummary]) -> None:
    _, summary = shanghai
    city_duties = sum(d.level is AreaLevel.city for d in catalogue.DUTIES.values())
    district_duties = len(catalogue.DUTIES) - city_duties
    huangpu_streets = 10
    assert summary.responsibilities == city_duties + 16 * district_duties \
        + huangpu_streets * len(catalogue.STREET_DUTIES)


def test_one_login_per_role_and_level(shanghai: tuple[Session, DemoSummary]) -> None:
    db, summary = shanghai
    by_name = {login.username: login for login in summary.logins}
    assert set(by_name) == {f"{short}.{level}" for short, _ in catalogue.ROLE_LABELS.values()
                            for level in ("city", "district", "street")}
    assert (by_name["admin.city"].area_code, by_name["admin.city"].role) == ("310000", "administrator")
    assert by_name["operator.district"].area_name == "黄浦区"
    assert by_name["handler.street"].department == "南京东路街道办事处"
    assert by_name["handler.district"].department == "黄浦区城管执法局"
    token = org_service.login(db, username="inspector.street", password=PASSWORD, secret="s" * 32, minutes=5)
    assert token
    with pytest.raises(Exception, match="wrong username or password"):
        org_service.login(db, username="inspector.street", password="not-the-password", secret="s" * 32,
                          minutes=5)


def test_map_default_centre_is_a_placeholder_and_peoples_square_is_not(
        shanghai: tuple[Session, DemoSummary]) -> None:
    db, _ = shanghai
    placeholder = geo_service.list_placeholders(db, within_path="/310000/")[0]
    lon, lat = convert(121.472644, 31.231706, source=Crs.gcj02, target=Crs.wgs84)
    assert (placeholder.lon, placeholder.lat) == pytest.approx((lon, lat))
    assert abs(placeholder.lon - 121.472644) > 0.003  # stored in WGS84, not GCJ-02
    locator = geo_service.build_locator(db, boundary_distance_m=30)
    at_default = locator.locate(lon, lat)
    assert at_default.placeholder == placeholder.name and not at_default.routable
    assert [a.code for a in at_default.chain][:2] == ["310000", "310101"]
    peoples_square = locator.locate(*convert(121.4737, 31.2304, source=Crs.gcj02, target=Crs.wgs84))
    assert [(a.code, a.name) for a in peoples_square.chain][:2] == [("310000", "上海市"), ("310101", "黄浦区")]
    assert peoples_square.chain[2].level == "street" and peoples_square.placeholder is None
    assert peoples_square.routable


def test_second_run_changes_nothing(shanghai: tuple[Session, DemoSummary]) -> None:
    db, first = shanghai
    before, stamp = row_counts(db), geo_service.areas_stamp(db)
    again = load_demo(db, city="shanghai", data_dir=SHARED_DATA, password="another-password")
    assert not again.created
    assert (again.areas, again.departments, again.ops_centres, again.responsibilities, again.logins) == (
        first.areas, first.departments, first.ops_centres, first.responsibilities, first.logins)
    assert row_counts(db) == before and geo_service.areas_stamp(db) == stamp


def test_nanjing_loads_alongside_shanghai(shanghai: tuple[Session, DemoSummary]) -> None:
    db, _ = shanghai
    savepoint = db.begin_nested()
    try:
        summary = load_demo(db, city="nanjing", data_dir=SHARED_DATA, password=PASSWORD, cases=0)
        levels = areas_by_level(db, "320100")
        districts, streets = listing("3201")
        assert {a.code: a.name for a in levels["district"]} == districts
        district_of = {a.id: a.code for a in levels["district"]}
        assert {a.code: (a.name, district_of[a.parent_id]) for a in levels["street"]} == streets
        assert summary.areas["street"] == 103
        assert all(login.username.startswith("nj.") for login in summary.logins) and len(summary.logins) == 18
        assert sorted(w.split(":")[0] for w in summary.warnings) == ["district 320114 雨花台区",
                                                                     "district 320118 高淳区"]
        assert all(shapely.from_wkb(a.geometry_wkb).is_valid for a in levels["district"])
        assert responsibility.route_case(db, category_code="E0102", area_code="320102002").lead == \
            "320102-greenery"
        assert areas_by_level(db, "310000")["street"]  # Shanghai is untouched
    finally:
        savepoint.rollback()
