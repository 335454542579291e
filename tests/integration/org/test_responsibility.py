"""The responsibility matrix service on SQLite and PostgreSQL: cells, their rules, jurisdiction,
CSV round trip and routing a case."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.categories import service as categories_service
from cityops.errors import InvalidFile, InvalidInput, NotFound, OutsideJurisdiction
from cityops.geo import service as geo_service
from cityops.org import responsibility as service
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.org.models import Department, Responsibility, ResponsibilityAssist
from cityops.org.responsibility import CellSpec
from cityops.org.routing import JointMode, Unroutable
from tests.factories import make_city, make_user

STREET, OTHER_STREET, NO_FALLBACK_STREET = "99010101", "99010102", "99010202"
HEADER = "category_code,area_code,lead_department_code,assisting_department_codes,joint_mode,note\n"


@pytest.fixture
def world(session: Session) -> dict[str, Principal]:
    make_city(session)
    categories_service.seed_city_management(session)
    units = [("city-cg", "市城管执法局", "city", "990000", False),
             ("d1-sanitation", "一区绿化市容局", "district", "990101", False),
             ("d2-sanitation", "二区绿化市容局", "district", "990102", False),
             ("s11-office", "一街道办", "street", STREET, True),
             ("s11-cg", "一街道城管中队", "street", STREET, False),
             ("s12-office", "二街道办", "street", OTHER_STREET, True),
             ("s21-office", "三街道办", "street", "99010201", True),
             ("s22-cg", "四街道城管中队", "street", NO_FALLBACK_STREET, False)]
    for code, name, level, area, fallback in units:
        org_service.create_department(session, code=code, name=name, level=level, area_code=area,
                                      kind="general", is_area_fallback=fallback, origin="test")
    people = {"city": ("administrator", "990000"), "street": ("dispatcher", STREET),
              "other": ("dispatcher", OTHER_STREET)}
    users = {key: make_user(session, username=f"{key}.user", roles=[role], area_code=area)
             for key, (role, area) in people.items()}
    return {key: org_service.principal_of_user(session, user) for key, user in users.items()}


def cell(category: str = "E0102", area: str = STREET, lead: str = "s11-cg", *assisting: str,
         **kw: str) -> CellSpec:
    return CellSpec(category_code=category, area_code=area, lead_department_code=lead,
                    assisting_department_codes=assisting, **kw)


def matrix_rows(session: Session) -> list[tuple]:
    cells = session.execute(select(Responsibility.category_id, Responsibility.area_id,
                                   Responsibility.lead_department_id, Responsibility.joint_mode,
                                   Responsibility.note).order_by(Responsibility.id)).all()
    assist = ResponsibilityAssist
    assists = session.execute(select(assist.responsibility_id, assist.department_id, assist.position)
                              .order_by(assist.responsibility_id, assist.position)).all()
    return [tuple(r) for r in cells] + [tuple(a) for a in assists]


def test_set_creates_then_replaces_a_cell_keeping_the_assisting_order(session: Session, world: dict) -> None:
    spec = cell("E0102", STREET, "s11-cg", "d1-sanitation", "s11-office", joint_mode="serial",
                note="先清运后执法")
    view, created = service.set_cell(session, spec=spec)
    assert created
    assert (view.lead_department_code, view.assisting_department_codes, view.joint_mode, view.note) == (
        "s11-cg", ("d1-sanitation", "s11-office"), JointMode.serial, "先清运后执法")
    assert (view.category_name, view.area_level) == ("暴露垃圾", "street")
    view, created = service.set_cell(session, spec=cell("E0102", STREET, "d1-sanitation", "s11-office",
                                                        "s11-cg"))
    assert not created
    assert (view.lead_department_code, view.assisting_department_codes, view.joint_mode, view.note) == (
        "d1-sanitation", ("s11-office", "s11-cg"), JointMode.parallel, None)
    assert len(session.scalars(select(Responsibility)).all()) == 1


@pytest.mark.parametrize(("spec", "error", "field"), [
    (cell("E9999"), NotFound, "category_code"),
    (cell(area="99999999"), NotFound, "area_code"),
    (cell(lead="nobody"), NotFound, "lead_department_code"),
    (cell("E0102", STREET, "s11-cg", "s11-office", "nobody"), NotFound, "assisting_department_codes[1]"),
    (cell("E0102", STREET, "s11-cg", "s11-cg"), InvalidInput, "assisting_department_codes"),
    (cell("E0102", STREET, "s11-cg", "s11-office", "s11-office"), InvalidInput, "assisting_department_codes"),
    (cell(joint_mode="sideways"), InvalidInput, "joint_mode"),
    (cell(note="x" * 501), InvalidInput, "note"),
    (cell(lead="s12-office"), InvalidInput, "lead_department_code"),        # the neighbouring street's
    (cell(lead="d2-sanitation"), InvalidInput, "lead_department_code"),     # another district's
    (cell("E0102", "990101", "s11-cg"), InvalidInput, "lead_department_code"),  # a street unit for a district
    (cell("E0102", STREET, "s11-cg", "s12-office"), InvalidInput, "assisting_department_codes[0]"),
])
def test_a_bad_cell_names_its_field_and_changes_nothing(session: Session, world: dict, spec: CellSpec,
                                                        error: type, field: str) -> None:
    service.set_cell(session, spec=cell("E01", STREET, "s11-office"))
    before = matrix_rows(session)
    with pytest.raises(error) as caught:
        service.set_cell(session, spec=spec)
    assert caught.value.field == field
    assert matrix_rows(session) == before


def test_wider_units_may_own_cells_below_them(session: Session, world: dict) -> None:
    service.set_cell(session, spec=cell("E01", STREET + "0101", "city-cg", "d1-sanitation", "s11-office"))
    service.set_cell(session, spec=cell("E01", "990101", "d1-sanitation"))


def test_an_inactive_department_cannot_be_given_cells(session: Session, world: dict) -> None:
    session.scalar(select(Department).where(Department.code == "s11-cg")).active = False
    with pytest.raises(InvalidInput, match="inactive"):
        service.set_cell(session, spec=cell())


def test_writers_and_readers_stay_in_their_jurisdiction(session: Session, world: dict) -> None:
    service.set_cell(session, spec=cell("E0102", STREET + "01", "s11-cg"), actor=world["street"])
    service.set_cell(session, spec=cell("E0102", OTHER_STREET, "s12-office"), actor=world["other"])
    with pytest.raises(OutsideJurisdiction):
        service.set_cell(session, spec=cell("E0103", OTHER_STREET, "s12-office"), actor=world["street"])
    with pytest.raises(OutsideJurisdiction):
        service.delete_cell(session, category_code="E0102", area_code=OTHER_STREET, actor=world["street"])
    mine, total = service.list_cells(session, viewer=world["street"])
    assert total == 1 and mine[0].area_code == STREET + "01"
    assert service.list_cells(session, viewer=world["city"])[1] == 2
    with pytest.raises(NotFound):
        service.get_cell(session, category_code="E0102", area_code=OTHER_STREET, viewer=world["street"])


def test_list_filters_by_category_area_subtree_and_department(session: Session, world: dict) -> None:
    service.set_cell(session, spec=cell("E0102", STREET, "s11-cg", "d1-sanitation"))
    service.set_cell(session, spec=cell("E01", "990101", "d1-sanitation"))
    service.set_cell(session, spec=cell("C0101", "990102", "d2-sanitation"))
    city = world["city"]

    def codes(**filters: str) -> list[tuple[str, str]]:
        found, _ = service.list_cells(session, viewer=city, **filters)
        return [(c.category_code, c.area_code) for c in found]

    assert codes(category_code="E0102") == [("E0102", STREET)]
    assert codes(area_code="990101") == [("E01", "990101"), ("E0102", STREET)]
    assert codes(department_code="d1-sanitation") == [("E01", "990101"), ("E0102", STREET)]
    page, total = service.list_cells(session, viewer=city, limit=1, offset=1)
    assert total == 3 and len(page) == 1
    with pytest.raises(NotFound):
        service.list_cells(session, viewer=city, department_code="nobody")


def test_a_bad_csv_imports_nothing_and_reports_every_bad_row(session: Session, world: dict) -> None:
    service.set_cell(session, spec=cell("E01", STREET, "s11-office"))
    before = matrix_rows(session)
    text = HEADER + "\n".join([
        f"E0102,{STREET},s11-cg,d1-sanitation;s11-office,serial,ok",  # 2: fine
        f"E9999,{STREET},s11-cg,,,",                                   # 3
        "E0102,99999999,s11-cg,,,",                                    # 4
        f"E0103,{STREET},s11-cg,s11-cg,,",                             # 5
        f"E0104,{STREET},s11-cg,,sideways,",                           # 6
        f"E0102,{STREET},s11-office,,,",                               # 7: repeats row 2
        f"E0105,{OTHER_STREET},s11-cg,,,",                             # 8: not its street, and outside
        f"E0106,{STREET},,,,",                                         # 9: no lead
    ]) + "\n"
    with pytest.raises(InvalidFile) as caught:
        service.import_csv(session, data=text, actor=world["street"])
    assert [(p["row"], p["field"]) for p in caught.value.extra["rows"]] == [
        (3, "category_code"), (4, "area_code"), (5, "assisting_department_codes"), (6, "joint_mode"),
        (7, "area_code"), (8, "area_code"), (8, "lead_department_code"), (9, "lead_department_code")]
    assert matrix_rows(session) == before
    with pytest.raises(InvalidFile, match="bad header"):
        service.import_csv(session, data="category,area\nE01,x\n")


def test_import_upserts_and_export_round_trips(session: Session, world: dict) -> None:
    service.set_cell(session, spec=cell("E01", STREET, "s11-office", note="old"))
    text = HEADER + (f"E01,{STREET},s11-cg,s11-office,parallel,\n"
                     f"E0102,{STREET},s11-cg,d1-sanitation;s11-office,serial,\"清运, 执法\"\n"
                     f"C0101,990101,d1-sanitation,,,\n")
    report = service.import_csv(session, data=text.encode("gb18030"), actor=world["city"])
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 2, 1, 0)
    exported = service.export_csv(session, viewer=world["city"])
    assert exported.splitlines()[1:] == [
        "C0101,990101,d1-sanitation,,parallel,",
        f"E01,{STREET},s11-cg,s11-office,parallel,",
        f"E0102,{STREET},s11-cg,d1-sanitation;s11-office,serial,\"清运, 执法\""]
    again = service.import_csv(session, data=exported, actor=world["city"])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert service.export_csv(session, viewer=world["city"]) == exported
    assert "990101," not in service.export_csv(session, viewer=world["street"]).replace(STREET, "")


def test_route_prefers_the_deepest_cell_then_falls_back_to_the_street(session: Session, world: dict) -> None:
    community = STREET + "0101"
    service.set_cell(session, spec=cell("E0102", "990101", "d1-sanitation"))
    service.set_cell(session, spec=cell("E01", STREET, "s11-cg", "s11-office", joint_mode="serial"))
    decision = service.route_case(session, category_code="E0102", area_code=community)
    assert (decision.lead, decision.assisting) == ("s11-cg", ("s11-office",))
    assert decision.joint_mode is JointMode.serial
    assert (decision.matched_area, decision.matched_category, decision.fallback) == (STREET, "E01", False)
    assert service.route_case(session, category_code="E0102", area_code="990101").lead == "d1-sanitation"
    fallback = service.route_case(session, category_code="C0101", area_code=community)
    assert (fallback.lead, fallback.fallback, fallback.matched_area) == ("s11-office", True, STREET)
    service.delete_cell(session, category_code="E01", area_code=STREET)
    assert service.route_case(session, category_code="E0102", area_code=community).lead == "d1-sanitation"
    with pytest.raises(NotFound):
        service.delete_cell(session, category_code="E01", area_code=STREET)


def test_route_without_any_owner_is_unroutable(session: Session, world: dict) -> None:
    with pytest.raises(Unroutable):
        service.route_case(session, category_code="E0102", area_code=NO_FALLBACK_STREET + "0101")
    with pytest.raises(Unroutable):
        service.route_case(session, category_code="E0102", area_code="990102")
    with pytest.raises(NotFound):
        service.route_case(session, category_code="E9999", area_code=STREET)


def test_route_skips_deactivated_departments(session: Session, world: dict) -> None:
    service.set_cell(session, spec=cell("E0102", "990101", "d1-sanitation"))
    service.set_cell(session, spec=cell("E0102", STREET, "s11-cg", "city-cg", "s11-office"))
    departments = {d.code: d for d in session.scalars(select(Department))}
    departments["city-cg"].active = False
    assert service.route_case(session, category_code="E0102", area_code=STREET).assisting == ("s11-office",)
    departments["s11-cg"].active = False
    assert service.route_case(session, category_code="E0102", area_code=STREET).lead == "d1-sanitation"


def test_a_deactivated_street_office_stops_taking_unowned_cases(session: Session, world: dict) -> None:
    community = STREET + "0101"
    assert service.route_case(session, category_code="C0101", area_code=community).lead == "s11-office"
    session.scalar(select(Department).where(Department.code == "s11-office")).active = False
    session.flush()
    for category in ("C0101", "E0102"):  # the decision made before, and one never made
        with pytest.raises(Unroutable):
            service.route_case(session, category_code=category, area_code=community)


def test_cell_spec_defaults_are_a_plain_parallel_cell(session: Session, world: dict) -> None:
    spec = replace(cell(), note="")
    view, _ = service.set_cell(session, spec=spec)
    assert (view.joint_mode, view.note, view.assisting_department_codes) == (JointMode.parallel, None, ())


def test_a_snapshot_of_the_matrix_routes_as_route_case_does(session: Session, world: dict) -> None:
    service.set_cell(session, spec=cell("E0102", "990101", "d1-sanitation"))
    service.set_cell(session, spec=cell("E01", STREET, "s11-cg", "city-cg", "s11-office", joint_mode="serial"))
    session.scalar(select(Department).where(Department.code == "city-cg")).active = False
    snapshot = service.MatrixSnapshot(session)
    areas = [a for a in geo_service.list_areas(session, within_path="/", limit=None)[0]]
    compared = 0
    for category in ("E0102", "E01", "C0101"):
        for area in areas:
            chain = geo_service.area_chain(session, area=area)
            try:
                expected = service.route_case(session, category_code=category, area_code=area.code)
            except Unroutable:
                with pytest.raises(Unroutable):
                    snapshot.route(category_code=category, area_chain=chain)
                continue
            assert snapshot.route(category_code=category, area_chain=chain) == expected
            compared += 1
    assert compared > 5
    with pytest.raises(NotFound):
        snapshot.route(category_code="E9999", area_chain=chain)
