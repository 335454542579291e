"""Loading a demo city (``cityops demo``): real districts and street names, synthetic streets,
grids and communities, operations centres, departments, a responsibility matrix, a placeholder
point, one login per role and level and a month of cases taken through the closed loop
(``cityops.demo.cases``) — everything marked ``origin="demo"``.

Loading is idempotent: when the city's demo areas exist it changes nothing and describes what is
there. It is also all or nothing (the caller's unit of work commits once), and it refuses a store
that holds anything but demo data, so it can never mix made-up places into a real city.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from cityops.categories import service as categories_service
from cityops.config import Settings, get_settings
from cityops.demo import cases as demo_cases
from cityops.demo import catalogue, sources
from cityops.demo import indicators as demo_indicators
from cityops.demo.areas import AreaRef, DemoAreas, Progress, build_areas
from cityops.demo.catalogue import CITIES, DEPARTMENTS, ORIGIN, UNIT_LEVELS, CityPlan, Duty
from cityops.errors import Conflict, InvalidInput, NotFound
from cityops.geo import service as geo_service
from cityops.geo.coords import Crs, convert
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area
from cityops.org import responsibility
from cityops.org import service as org_service
from cityops.org.access import Principal


@dataclass(frozen=True)
class Login:
    username: str
    display_name: str
    role: str
    level: str
    area_code: str
    area_name: str
    department: str | None


@dataclass
class DemoSummary:
    city: str
    city_code: str
    city_name: str
    created: bool
    """False when the demo was already loaded and nothing changed."""
    areas: dict[str, int]
    """Level → number of areas in the city."""
    ops_centres: int
    departments: int
    responsibilities: int
    placeholders: int
    logins: list[Login]
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cases: demo_cases.CaseHistory | None = None
    """The month of cases made with the city (None when it was already loaded)."""


def city_plan(city: str) -> CityPlan:
    plan = CITIES.get(city.lower())
    if plan is None:
        raise InvalidInput(f"no demo city {city!r}; choose one of {', '.join(CITIES)}", field="city")
    return plan


def load_demo(session: Session, *, city: str = "shanghai", data_dir: Path, password: str,
              cases: int = demo_cases.DEFAULT_CASES, settings: Settings | None = None,
              progress: Progress | None = None) -> DemoSummary:
    """Load ``city``'s demo with ``cases`` cases over the last month (``cityops.demo.cases``), or
    describe it when it is already there."""
    started = time.perf_counter()
    demo_cases.check_count(cases)
    plan = city_plan(city)
    report = progress or _quiet
    existing = _existing_city(session, plan)
    if existing is not None:
        return _summarise(session, plan, existing, created=False, started=started)
    refuse_non_demo_store(session)
    if len(password) < org_service.MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the demo password needs at least {org_service.MIN_PASSWORD_LENGTH} characters",
                           field="password")
    source = sources.read_city(plan, data_dir=data_dir)
    areas = build_areas(session, city=plan, source=source, progress=report)
    _create_units(session, plan, areas, report)
    _create_matrix(session, areas, report)
    _add_placeholder(session, plan)
    _create_users(session, plan, areas, password, report)
    now = datetime.now(UTC)
    demo_indicators.ensure_demo_indicators(session, city_code=plan.code, now=now)
    history = demo_cases.make_cases(session, plan=plan, count=cases, settings=settings or get_settings(), now=now,
                                    progress=report)
    summary = _summarise(session, plan, geo_service.get_area(session, code=plan.code), created=True,
                         started=started)
    summary.warnings = source.warnings
    summary.cases = history
    return summary


def _quiet(stage: str, done: int, total: int) -> None:
    """No progress display."""


def _existing_city(session: Session, plan: CityPlan) -> Area | None:
    try:
        area = geo_service.get_area(session, code=plan.code)
    except NotFound:
        return None
    if area.origin != ORIGIN:
        raise Conflict(f"the store already holds {area.name} ({area.code}) as real data; the demo city would "
                       "mix made-up places into it", code="store_not_demo")
    return area


def non_demo_rows(session: Session) -> dict[str, int]:
    """How many areas, users, departments and operations centres did not come from a demo."""
    found = {"areas": geo_service.count_areas_not_from(session, origin=ORIGIN)}
    found.update(org_service.count_records_not_from(session, origin=ORIGIN))
    return {name: count for name, count in found.items() if count}


def refuse_non_demo_store(session: Session) -> None:
    found = non_demo_rows(session)
    if found:
        listed = ", ".join(f"{count} {name}" for name, count in found.items())
        raise Conflict(f"this store holds data that is not from a demo ({listed}); the demo city loads only "
                       "into an empty store or one holding only demo data", code="store_not_demo",
                       extra={"non_demo": found})


def _create_units(session: Session, plan: CityPlan, areas: DemoAreas, progress: Progress) -> None:
    levels = [(AreaLevel.city, [areas.city]), (AreaLevel.district, areas.districts),
              (AreaLevel.street, areas.all_streets())]
    total = sum(len(found) for _, found in levels)
    done = 0
    for level, found in levels:
        for area in found:
            org_service.create_ops_centre(session, code=catalogue.ops_centre_code(area.code),
                                          name=catalogue.ops_centre_name(area.name), level=level.value,
                                          area_code=area.code, origin=ORIGIN)
            for unit in DEPARTMENTS[level]:
                org_service.create_department(
                    session, code=catalogue.department_code(area.code, unit.kind),
                    name=catalogue.department_name(plan, level, unit, area.name), level=level.value,
                    area_code=area.code, kind=unit.kind, is_area_fallback=unit.is_area_fallback,
                    origin=ORIGIN)
            done += 1
            progress("operations centres and departments", done, total)


def matrix_cells(areas: DemoAreas) -> list[responsibility.CellSpec]:
    """Every cell of the demo matrix: city-level duties once, district duties in every district,
    street duties in every street of the first district."""
    cells = []
    for category, duty in catalogue.DUTIES.items():
        if duty.level is AreaLevel.city:
            cells.append(_cell(category, duty, [areas.city]))
        else:
            cells.extend(_cell(category, duty, [district, areas.city]) for district in areas.districts)
    first = areas.districts[0]
    for street in areas.streets.get(first.code, []):
        cells.extend(_cell(category, duty, [street, first, areas.city])
                     for category, duty in catalogue.STREET_DUTIES.items())
    return cells


def _cell(category: str, duty: Duty, chain: list[AreaRef]) -> responsibility.CellSpec:
    """The cell of ``duty`` at ``chain[0]``, each kind resolved to the nearest unit up ``chain``."""

    def department(kind: str) -> str:
        holder = next(a for a in chain if kind in catalogue.department_kinds(a.level))
        return catalogue.department_code(holder.code, kind)

    return responsibility.CellSpec(category_code=category, area_code=chain[0].code,
                                   lead_department_code=department(duty.lead),
                                   assisting_department_codes=tuple(department(k) for k in duty.assisting),
                                   joint_mode=duty.joint_mode)


def _create_matrix(session: Session, areas: DemoAreas, progress: Progress) -> None:
    wanted = set(catalogue.DUTIES) | set(catalogue.STREET_DUTIES)
    if set(categories_service.category_ids(session, codes=wanted)) != wanted:
        categories_service.seed_city_management(session)
    cells = matrix_cells(areas)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(responsibility.CSV_COLUMNS)
    for cell in cells:
        writer.writerow([cell.category_code, cell.area_code, cell.lead_department_code,
                         ";".join(cell.assisting_department_codes), cell.joint_mode, cell.note or ""])
    responsibility.import_csv(session, data=out.getvalue(), origin=ORIGIN)
    progress("responsibility matrix", len(cells), len(cells))


def _add_placeholder(session: Session, plan: CityPlan) -> None:
    lon, lat = convert(plan.placeholder.gcj_lon, plan.placeholder.gcj_lat, source=Crs.gcj02, target=Crs.wgs84)
    geo_service.add_placeholder(session, name=plan.placeholder.name, lon=lon, lat=lat,
                                radius_m=plan.placeholder.radius_m,
                                area=geo_service.get_area(session, code=plan.code), origin=ORIGIN)


def _login_areas(areas: DemoAreas) -> dict[AreaLevel, tuple[str, str]]:
    district = areas.districts[0]
    street = areas.streets[district.code][0]
    return {AreaLevel.city: (areas.city.code, areas.city.name),
            AreaLevel.district: (district.code, district.name),
            AreaLevel.street: (street.code, street.name)}


def _create_users(session: Session, plan: CityPlan, areas: DemoAreas, password: str,
                  progress: Progress) -> None:
    plans = catalogue.user_plans(plan, areas=_login_areas(areas))
    for number, user in enumerate(plans, start=1):
        org_service.create_user(session, username=user.username, display_name=user.display_name,
                                password=password, area_code=user.area_code, roles=[user.role.value],
                                department_code=user.department_code, origin=ORIGIN)
        progress("users", number, len(plans))


def _summarise(session: Session, plan: CityPlan, city: Area, *, created: bool, started: float) -> DemoSummary:
    viewer = Principal(id=0, kind="user", name="demo", roles=("administrator",), area_id=city.id,
                       area_code=city.code, area_path=city.path, area_level=city.level)
    counts = {level.value: geo_service.list_areas(session, within_path=city.path, level=level, limit=0)[1]
              for level in AreaLevel}
    departments = org_service.list_departments(session, viewer=viewer)
    department_names = {d.id: d.name for d in departments}
    users, _ = org_service.list_users(session, viewer=viewer, limit=10_000)
    logins = []
    for user in users:
        if user.origin != ORIGIN:
            continue
        area = geo_service.get_area_by_id(session, area_id=user.area_id)
        logins.append(Login(username=user.username, display_name=user.display_name,
                            role=", ".join(user.roles), level=area.level, area_code=area.code,
                            area_name=area.name,
                            department=department_names.get(user.department_id)))
    roles = [role.value for role in catalogue.ROLE_LABELS]
    logins.sort(key=lambda login: (UNIT_LEVELS.index(AreaLevel(login.level)),
                                   roles.index(login.role) if login.role in roles else len(roles),
                                   login.username))
    return DemoSummary(
        city=plan.key, city_code=city.code, city_name=city.name, created=created, areas=counts,
        ops_centres=len(org_service.list_ops_centres(session, viewer=viewer)), departments=len(departments),
        responsibilities=responsibility.list_cells(session, viewer=viewer, limit=0)[1],
        placeholders=len(geo_service.list_placeholders(session, within_path=city.path)), logins=logins,
        seconds=round(time.perf_counter() - started, 2))

