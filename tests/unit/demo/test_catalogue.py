"""The demo city's plan: names, codes, people and the responsibility matrix, checked as data."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from cityops.demo import catalogue
from cityops.demo.catalogue import CITIES, DEPARTMENTS, DUTIES, STREET_DUTIES, UNIT_LEVELS
from cityops.geo.levels import AreaLevel
from cityops.org.roles import STAFF_ROLES, Role


def seed_categories() -> dict[str, dict[str, str]]:
    data = resources.files("cityops.categories").joinpath("data", "city_management.csv").read_text("utf-8")
    return {row["code"]: row for row in csv.DictReader(data.splitlines())}


def test_every_duty_names_a_leaf_category_of_the_seed_tree() -> None:
    categories = seed_categories()
    parents = {row["parent_code"] for row in categories.values()}
    for code in [*DUTIES, *STREET_DUTIES]:
        assert code in categories, code
        assert code not in parents, f"{code} is a major class; duties go on subclasses"


def test_some_leaf_categories_are_left_to_the_street_fallback() -> None:
    categories = seed_categories()
    parents = {row["parent_code"] for row in categories.values()}
    leaves = {code for code in categories if code not in parents}
    unowned = leaves - set(DUTIES)
    # Ownerless manholes and shared bicycles are the classic 属地兜底 cases.
    assert {"C0114", "E0506"} <= unowned
    assert len(unowned) >= 10


@pytest.mark.parametrize("table", [DUTIES, STREET_DUTIES])
def test_every_duty_kind_exists_at_its_level_or_above(table: dict[str, catalogue.Duty]) -> None:
    for code, duty in table.items():
        assert duty.joint_mode in {"parallel", "serial"}
        assert duty.lead in catalogue.department_kinds(duty.level), (code, duty.lead)
        assert duty.lead not in duty.assisting
        levels_up = [lv for lv in UNIT_LEVELS if lv.rank <= duty.level.rank]
        for kind in duty.assisting:
            assert any(kind in catalogue.department_kinds(lv) for lv in levels_up), (code, kind)


def test_street_duties_override_district_ones_at_street_level() -> None:
    assert all(duty.level is AreaLevel.street for duty in STREET_DUTIES.values())
    assert set(STREET_DUTIES) <= set(DUTIES)


def test_unit_plan_has_one_fallback_per_street_and_none_above() -> None:
    assert [u.kind for u in DEPARTMENTS[AreaLevel.street] if u.is_area_fallback] == ["street_office"]
    assert not any(u.is_area_fallback for lv in (AreaLevel.city, AreaLevel.district) for u in DEPARTMENTS[lv])
    for level, units in DEPARTMENTS.items():
        kinds = [u.kind for u in units]
        assert len(kinds) == len(set(kinds)), level


@pytest.mark.parametrize(("street", "office"), [
    ("南京东路街道", "南京东路街道办事处"), ("七宝镇", "七宝镇人民政府"), ("横沙乡", "横沙乡人民政府"),
    ("莘庄工业区", "莘庄工业区管理委员会"), ("东平林场", "东平林场场部"), ("汤泉农场", "汤泉农场场部"),
])
def test_street_office_names_follow_the_kind_of_unit(street: str, office: str) -> None:
    assert catalogue.street_office_name(street) == office


def test_department_names_and_codes() -> None:
    shanghai, nanjing = CITIES["shanghai"], CITIES["nanjing"]
    enforcement = next(u for u in DEPARTMENTS[AreaLevel.district] if u.kind == "enforcement")
    power = next(u for u in DEPARTMENTS[AreaLevel.city] if u.kind == "power")
    district = AreaLevel.district
    assert catalogue.department_name(shanghai, district, enforcement, "黄浦区") == "黄浦区城管执法局"
    assert catalogue.department_name(nanjing, district, enforcement, "玄武区") == "玄武区城市管理局"
    assert catalogue.department_name(shanghai, AreaLevel.city, power, "上海市") == "国网上海市电力公司"
    assert catalogue.department_name(nanjing, AreaLevel.city, power, "南京市") == "国网南京供电公司"
    assert catalogue.department_code("310101", "enforcement") == "310101-enforcement"
    assert catalogue.ops_centre_code("310101002") == "310101002-ops"
    assert catalogue.ops_centre_name("南京东路街道") == "南京东路街道城运中心"


def test_grid_and_community_codes_and_names() -> None:
    assert catalogue.grid_code("310101002", 1) == "31010100201"
    assert catalogue.grid_name("南京东路街道", 1) == "南京东路街道第01网格"
    assert catalogue.community_code("31010100201", 3) == "3101010020103"
    names = catalogue.community_names("310101002", "南京东路街道", 18)
    assert len(set(names)) == 18
    assert all(n.startswith("南京东路街道") and n.endswith("居委") for n in names)
    assert all(n.endswith("社区") for n in catalogue.community_names("310112102", "七宝镇", 3))
    with pytest.raises(ValueError):
        catalogue.community_names("310101002", "南京东路街道", 99)


def test_counts_are_deterministic_and_in_range() -> None:
    codes = [f"3101010{i:02d}" for i in range(60)]
    grids = [catalogue.grid_count(c) for c in codes]
    assert grids == [catalogue.grid_count(c) for c in codes]
    assert set(grids) == {4, 5, 6}
    communities = {catalogue.community_count(c + "01") for c in codes}
    assert communities == {2, 3}
    # Stable across processes and Python versions (unlike hash()).
    assert catalogue.seed_of("310101") == 4101440601


def test_one_user_per_role_and_level() -> None:
    areas = {AreaLevel.city: ("310000", "上海市"), AreaLevel.district: ("310101", "黄浦区"),
             AreaLevel.street: ("310101002", "南京东路街道")}
    plans = catalogue.user_plans(CITIES["shanghai"], areas=areas)
    assert len(plans) == len(STAFF_ROLES) * 3
    assert {(p.role, p.level) for p in plans} == {(r, lv) for r in STAFF_ROLES for lv in UNIT_LEVELS}
    by_name = {p.username: p for p in plans}
    assert by_name["admin.city"].area_code == "310000"
    assert by_name["operator.district"].area_code == "310101"
    handler = by_name["handler.street"]
    assert (handler.area_code, handler.department_code) == ("310101002", "310101002-street_office")
    assert by_name["handler.district"].department_code == "310101-enforcement"
    assert all(p.department_code is None for p in plans if p.role is not Role.handler)
    assert by_name["leader.street"].display_name == "南京东路街道领导（演示）"


def test_nanjing_users_carry_the_city_prefix() -> None:
    areas = {AreaLevel.city: ("320100", "南京市"), AreaLevel.district: ("320102", "玄武区"),
             AreaLevel.street: ("320102002", "梅园新村街道")}
    names = {p.username for p in catalogue.user_plans(CITIES["nanjing"], areas=areas)}
    assert "nj.admin.city" in names
    assert all(n.startswith("nj.") for n in names)


def test_matrix_cells_resolve_each_kind_to_the_nearest_unit_up_the_chain() -> None:
    from cityops.demo.areas import AreaRef, DemoAreas
    from cityops.demo.service import matrix_cells

    city = AreaRef("310000", "上海市", AreaLevel.city)
    districts = [AreaRef("310101", "黄浦区", AreaLevel.district),
                 AreaRef("310104", "徐汇区", AreaLevel.district)]
    streets = {"310101": [AreaRef("310101002", "南京东路街道", AreaLevel.street)],
               "310104": [AreaRef("310104003", "天平路街道", AreaLevel.street)]}
    cells = {(c.category_code, c.area_code): c for c in matrix_cells(DemoAreas(city, districts, streets))}
    city_duties = [code for code, duty in DUTIES.items() if duty.level is AreaLevel.city]
    assert len(cells) == len(city_duties) + 2 * (len(DUTIES) - len(city_duties)) + len(STREET_DUTIES)
    assert cells[("C0105", "310000")].lead_department_code == "310000-power"
    assert ("C0105", "310101") not in cells
    assert cells[("E0102", "310104")].lead_department_code == "310104-greenery"
    override = cells[("E0501", "310101002")]
    assert (override.lead_department_code, override.assisting_department_codes) == (
        "310101002-enforcement", ("310101-market",))
    assert ("E0501", "310104003") not in cells  # only the first district's streets override
    assert cells[("E0101", "310101")].joint_mode == "serial"
