"""Use cases of the responsibility matrix (权责清单): cells, their CSV form, and routing a case.

A cell says who handles one category in one area: a lead department, assisting departments in
order, and whether they work in parallel or in series. Rules every write obeys:

- every department must be active and serve the cell's area or one of its ancestors (a district's
  bureau may own cells in its streets; a street's office may not own its neighbour's or its
  district's) — the same rule for lead and assisting departments;
- the lead is not also an assisting department, and no department assists twice;
- the cell's area must lie in the writer's jurisdiction.

Cells are configuration, not records: replacing or deleting one only changes how future cases are
routed (routing then falls back to a wider area's cell, or to the street, 属地兜底). Imports are
all or nothing, upsert by (category, area) and delete nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload

from cityops import reference
from cityops.categories import service as categories_service
from cityops.categories.models import Category
from cityops.errors import CityOpsError, InvalidFile, InvalidInput, NotFound
from cityops.files import csv_dict_reader, decode_text
from cityops.geo import service as geo_service
from cityops.geo.models import Area
from cityops.org import service as org_service
from cityops.org.access import Principal, require_jurisdiction
from cityops.org.models import Department, Responsibility, ResponsibilityAssist
from cityops.org.routing import AreaLike, JointMode, MatrixEntry, RouteDecision, Unroutable, route

CSV_COLUMNS = ("category_code", "area_code", "lead_department_code", "assisting_department_codes",
               "joint_mode", "note")
REQUIRED_COLUMNS = CSV_COLUMNS[:3]
MAX_NOTE_LENGTH = 500


@dataclass(frozen=True)
class CellView:
    category_code: str
    category_name: str
    area_code: str
    area_name: str
    area_level: str
    lead_department_code: str
    lead_department_name: str
    assisting_department_codes: tuple[str, ...]
    joint_mode: JointMode
    note: str | None
    updated_at: datetime


@dataclass(frozen=True)
class CellSpec:
    """A cell as a caller or a file row states it, by codes."""

    category_code: str
    area_code: str
    lead_department_code: str
    assisting_department_codes: tuple[str, ...] = ()
    joint_mode: str = JointMode.parallel.value
    note: str | None = None
    row: int = 1


@dataclass(frozen=True)
class _Resolved:
    category_id: int
    area_id: int
    lead_department_id: int
    assisting_ids: tuple[int, ...]
    joint_mode: str
    note: str | None


@dataclass
class MatrixImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class _Checker:
    """Resolves codes of many cells with one query per kind of thing, collecting problems as
    ``(field, error)`` instead of raising, so a file's every bad row can be reported."""

    def __init__(self, session: Session, specs: Sequence[CellSpec]) -> None:
        self.categories = categories_service.category_ids(session, codes=(s.category_code for s in specs))
        self.areas = {a.code: a for a in session.scalars(select(Area).where(
            Area.code.in_({s.area_code for s in specs})))}
        codes = {c for s in specs for c in (s.lead_department_code, *s.assisting_department_codes)}
        self.departments = {d.code: (d, path) for d, path in session.execute(
            select(Department, Area.path).join(Area, Department.area_id == Area.id).where(
                Department.code.in_(codes)))}

    def _department(self, code: str, area: Area | None, field: str) -> tuple[int | None, CityOpsError | None]:
        found = self.departments.get(code)
        if found is None:
            return None, NotFound(f"no department {code!r}", code="unknown_department", field=field)
        department, path = found
        if not department.active:
            return None, InvalidInput(f"department {code} is inactive", field=field)
        if area is not None and not area.path.startswith(path):
            return None, InvalidInput(f"department {code} does not serve {area.code} {area.name}: a "
                                      "department must serve the cell's area or one that contains it",
                                      field=field)
        return department.id, None

    def check(self, spec: CellSpec, actor: Principal | None) -> tuple[_Resolved | None, list[CityOpsError]]:
        errors: list[CityOpsError] = []
        category_id = self.categories.get(spec.category_code)
        if category_id is None:
            errors.append(NotFound(f"no category {spec.category_code!r}", code="unknown_category",
                                   field="category_code"))
        area = self.areas.get(spec.area_code)
        if area is None:
            errors.append(NotFound(f"no area {spec.area_code!r}", code="unknown_area", field="area_code"))
        elif actor is not None and not actor.covers(area.path):
            errors.append(InvalidInput(f"area {area.code} lies outside your jurisdiction ({actor.area_code})",
                                       code="outside_jurisdiction", field="area_code"))
        if spec.joint_mode not in {m.value for m in JointMode}:
            errors.append(InvalidInput("joint_mode must be parallel or serial", field="joint_mode"))
        if spec.note is not None and len(spec.note) > MAX_NOTE_LENGTH:
            errors.append(InvalidInput(f"a note has at most {MAX_NOTE_LENGTH} characters", field="note"))
        if spec.lead_department_code in spec.assisting_department_codes:
            errors.append(InvalidInput("the lead department cannot also assist",
                                       field="assisting_department_codes"))
        if len(set(spec.assisting_department_codes)) != len(spec.assisting_department_codes):
            errors.append(InvalidInput("a department is listed twice among the assisting ones",
                                       field="assisting_department_codes"))
        lead_id, problem = self._department(spec.lead_department_code, area, "lead_department_code")
        errors.extend([problem] if problem else [])
        assisting: list[int] = []
        for index, code in enumerate(spec.assisting_department_codes):
            department_id, problem = self._department(code, area, f"assisting_department_codes[{index}]")
            errors.extend([problem] if problem else [])
            assisting.append(department_id or 0)
        if errors:
            return None, errors
        return _Resolved(category_id=category_id, area_id=area.id, lead_department_id=lead_id,
                         assisting_ids=tuple(assisting), joint_mode=spec.joint_mode,
                         note=spec.note or None), []


def _write(session: Session, cells: Sequence[_Resolved], *, origin: str) -> MatrixImportReport:
    """Upsert cells with bulk statements: new cells inserted, changed ones updated, assisting lists
    replaced."""
    report = MatrixImportReport(rows=len(cells))
    wanted = {(c.category_id, c.area_id): c for c in cells}
    existing = {(r.category_id, r.area_id): r for r in session.execute(
        select(Responsibility.id, Responsibility.category_id, Responsibility.area_id,
               Responsibility.lead_department_id, Responsibility.joint_mode, Responsibility.note).where(
            Responsibility.category_id.in_({c.category_id for c in cells}),
            Responsibility.area_id.in_({c.area_id for c in cells})))}
    assists: dict[int, tuple[int, ...]] = {}
    for rid, did in session.execute(select(ResponsibilityAssist.responsibility_id,
                                           ResponsibilityAssist.department_id).where(
            ResponsibilityAssist.responsibility_id.in_([r.id for r in existing.values()])).order_by(
            ResponsibilityAssist.responsibility_id, ResponsibilityAssist.position)):
        assists[rid] = (*assists.get(rid, ()), did)
    new = [c for key, c in wanted.items() if key not in existing]
    changed = {existing[key].id: c for key, c in wanted.items() if key in existing and (
        existing[key].lead_department_id, existing[key].joint_mode, existing[key].note,
        assists.get(existing[key].id, ())) != (c.lead_department_id, c.joint_mode, c.note, c.assisting_ids)}
    report.created, report.updated = len(new), len(changed)
    report.unchanged = len(wanted) - len(new) - len(changed)
    if new:
        session.execute(insert(Responsibility), [
            {"category_id": c.category_id, "area_id": c.area_id, "lead_department_id": c.lead_department_id,
             "joint_mode": c.joint_mode, "note": c.note, "origin": origin} for c in new])
        ids = {(r.category_id, r.area_id): r.id for r in session.execute(
            select(Responsibility.id, Responsibility.category_id, Responsibility.area_id).where(
                Responsibility.category_id.in_({c.category_id for c in new}),
                Responsibility.area_id.in_({c.area_id for c in new})))}
    if changed:
        session.execute(update(Responsibility), [
            {"id": rid, "lead_department_id": c.lead_department_id, "joint_mode": c.joint_mode,
             "note": c.note} for rid, c in changed.items()])
        session.execute(delete(ResponsibilityAssist).where(
            ResponsibilityAssist.responsibility_id.in_(list(changed))))
    written = {**changed, **({ids[(c.category_id, c.area_id)]: c for c in new} if new else {})}
    assist_rows = [{"responsibility_id": rid, "department_id": did, "position": position}
                   for rid, c in written.items() for position, did in enumerate(c.assisting_ids)]
    if assist_rows:
        session.execute(insert(ResponsibilityAssist), assist_rows)
    # Bulk statements bypass the identity map: reload any matrix object held in this session.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Responsibility | ResponsibilityAssist):
            session.expire(obj)
    session.flush()
    return report


def set_cell(session: Session, *, spec: CellSpec, actor: Principal | None = None,
             origin: str = "api") -> tuple[CellView, bool]:
    """Create or replace one cell; returns it and whether it is new."""
    if actor is not None:
        require_jurisdiction(actor, geo_service.get_area(session, code=spec.area_code).path, what="area")
    resolved, errors = _Checker(session, [spec]).check(spec, actor)
    if errors:
        raise errors[0]
    report = _write(session, [resolved], origin=origin)
    return get_cell(session, category_code=spec.category_code, area_code=spec.area_code), report.created == 1


def _cell(session: Session, *, category_code: str, area_code: str,
          viewer: Principal | None) -> Responsibility:
    area = geo_service.get_area(session, code=area_code)
    category_id = categories_service.category_ids(session, codes=[category_code]).get(category_code)
    cell = session.scalar(select(Responsibility).where(Responsibility.category_id == category_id,
                                                       Responsibility.area_id == area.id))
    if cell is None or (viewer is not None and not viewer.covers(area.path)):
        raise NotFound(f"no responsibility for {category_code} in {area_code}", code="unknown_responsibility")
    return cell


def delete_cell(session: Session, *, category_code: str, area_code: str,
                actor: Principal | None = None) -> None:
    """Remove a cell; cases of that category in that area route by wider cells or fall back to the
    street from now on."""
    if actor is not None:
        require_jurisdiction(actor, geo_service.get_area(session, code=area_code).path, what="area")
    session.delete(_cell(session, category_code=category_code, area_code=area_code, viewer=None))
    session.flush()


def _views(session: Session, query) -> list[CellView]:  # noqa: ANN001
    rows = session.execute(query).all()
    assisting: dict[int, list[str]] = {}
    for rid, code in session.execute(
            select(ResponsibilityAssist.responsibility_id, Department.code).join(
                Department, ResponsibilityAssist.department_id == Department.id).where(
                ResponsibilityAssist.responsibility_id.in_([r.id for r in rows])).order_by(
                ResponsibilityAssist.responsibility_id, ResponsibilityAssist.position)):
        assisting.setdefault(rid, []).append(code)
    return [CellView(category_code=r.category_code, category_name=r.category_name, area_code=r.area_code,
                     area_name=r.area_name, area_level=r.area_level, lead_department_code=r.lead_code,
                     lead_department_name=r.lead_name, joint_mode=JointMode(r.joint_mode), note=r.note,
                     assisting_department_codes=tuple(assisting.get(r.id, ())), updated_at=r.updated_at)
            for r in rows]


def _cells_query():  # noqa: ANN202
    return (select(Responsibility.id, Category.code.label("category_code"),
                   Category.name.label("category_name"), Area.code.label("area_code"),
                   Area.name.label("area_name"), Area.level.label("area_level"),
                   Department.code.label("lead_code"), Department.name.label("lead_name"),
                   Responsibility.joint_mode, Responsibility.note, Responsibility.updated_at)
            .join(Category, Responsibility.category_id == Category.id)
            .join(Area, Responsibility.area_id == Area.id)
            .join(Department, Responsibility.lead_department_id == Department.id))


def get_cell(session: Session, *, category_code: str, area_code: str,
             viewer: Principal | None = None) -> CellView:
    cell = _cell(session, category_code=category_code, area_code=area_code, viewer=viewer)
    return _views(session, _cells_query().where(Responsibility.id == cell.id))[0]


def list_cells(session: Session, *, viewer: Principal, category_code: str | None = None,
               area_code: str | None = None, department_code: str | None = None, limit: int | None = 100,
               offset: int = 0) -> tuple[list[CellView], int]:
    """Cells whose area lies in the viewer's jurisdiction, by area then category. ``area_code``
    keeps that area's subtree; ``department_code`` keeps cells it leads or assists in."""
    query = _cells_query().where(Area.path.startswith(viewer.area_path, autoescape=True))
    if category_code is not None:
        query = query.where(Category.code == category_code)
    if area_code is not None:
        area = geo_service.get_area(session, code=area_code)
        query = query.where(Area.path.startswith(area.path, autoescape=True))
    if department_code is not None:
        department = org_service.get_department(session, code=department_code)
        query = query.where(or_(Responsibility.lead_department_id == department.id, Responsibility.id.in_(
            select(ResponsibilityAssist.responsibility_id).where(
                ResponsibilityAssist.department_id == department.id))))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(Area.path, Category.code).limit(limit).offset(offset)
    return _views(session, page), total


def parse_csv(data: bytes | str) -> tuple[list[CellSpec], list[dict[str, object]]]:
    """Cells of a matrix CSV file and the problems of rows that cannot even be read."""
    reader = csv_dict_reader(decode_text(data), columns=CSV_COLUMNS, required=REQUIRED_COLUMNS)
    specs: list[CellSpec] = []
    problems: list[dict[str, object]] = []
    for number, raw in enumerate(reader, start=2):
        if None in raw:
            problems.append({"row": number, "field": "row",
                             "reason": "the row has more cells than the header"})
            continue
        cell = {k: (v or "").strip() for k, v in raw.items()}
        missing = [c for c in REQUIRED_COLUMNS if not cell[c]]
        problems.extend({"row": number, "field": c, "reason": f"{c} is required"} for c in missing)
        if not missing:
            assisting = tuple(c.strip() for c in cell.get("assisting_department_codes", "").split(";")
                              if c.strip())
            specs.append(CellSpec(category_code=cell["category_code"], area_code=cell["area_code"],
                                  lead_department_code=cell["lead_department_code"],
                                  assisting_department_codes=assisting,
                                  joint_mode=cell.get("joint_mode") or JointMode.parallel.value,
                                  note=cell.get("note") or None, row=number))
    return specs, problems


def import_csv(session: Session, *, data: bytes | str, actor: Principal | None = None,
               origin: str = "import") -> MatrixImportReport:
    """Upsert the cells of a CSV file, all or nothing; every bad row is reported at once."""
    specs, problems = parse_csv(data)
    checker = _Checker(session, specs)
    first_row: dict[tuple[str, str], int] = {}
    resolved: list[_Resolved] = []
    for spec in specs:
        key = (spec.category_code, spec.area_code)
        if key in first_row:
            problems.append({"row": spec.row, "field": "area_code", "reason": f"{spec.category_code} in "
                             f"{spec.area_code} repeats row {first_row[key]}"})
            continue
        first_row[key] = spec.row
        cell, errors = checker.check(spec, actor)
        problems.extend({"row": spec.row, "field": e.field, "reason": e.detail} for e in errors)
        if cell is not None:
            resolved.append(cell)
    if problems:
        problems.sort(key=lambda p: p["row"])
        raise InvalidFile(f"{len({p['row'] for p in problems})} row(s) rejected, nothing was imported: "
                          + "; ".join(f"row {p['row']} {p['field']}: {p['reason']}" for p in problems[:5])
                          + (" …" if len(problems) > 5 else ""), field="rows", extra={"rows": problems})
    return _write(session, resolved, origin=origin)


def export_csv(session: Session, *, viewer: Principal) -> str:
    """The cells in the viewer's jurisdiction, in the format ``import_csv`` reads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    cells, _ = list_cells(session, viewer=viewer, limit=None)
    for c in cells:
        writer.writerow([c.category_code, c.area_code, c.lead_department_code,
                         ";".join(c.assisting_department_codes), c.joint_mode.value, c.note or ""])
    return out.getvalue()


def route_case(session: Session, *, category_code: str, area_code: str) -> RouteDecision:
    """Who leads a case of ``category_code`` at ``area_code`` (the deepest area known for it).
    Cells whose lead department was deactivated are skipped; deactivated assisting departments are
    left out. Decided on the whole matrix read at once (``MatrixSnapshot``) and kept, with each
    decision, until the matrix, departments, areas or categories change: a category and place not
    seen before then cost no query, where reading their cells, departments and chains cost a dozen."""
    memo = reference.memo(session)
    key = ("route", category_code, area_code)
    if key not in memo:
        chain = geo_service.chain_keys(session, code=area_code)
        snapshot = memo.get("matrix")
        if snapshot is None:
            snapshot = memo["matrix"] = MatrixSnapshot(session)
        try:
            memo[key] = snapshot.route(category_code=category_code, area_chain=chain)
        except Unroutable as error:
            memo[key] = (error.detail, error.field)
    found = memo[key]
    if isinstance(found, tuple):
        raise Unroutable(found[0], field=found[1])
    return found


class MatrixSnapshot:
    """The whole matrix, the street fallback departments and the category tree, read at once, to
    route many cases (an import) without a query per case. It decides as ``route_case`` does, for
    as long as nobody edits the matrix, the departments or the categories."""

    def __init__(self, session: Session) -> None:
        categories = session.execute(select(Category.id, Category.code, Category.parent_id)).all()
        self._code_of_category = {c.id: c.code for c in categories}
        self._parent = {c.code: self._code_of_category.get(c.parent_id) for c in categories}
        code_of_area = {a.id: a.code for a in session.execute(select(Area.id, Area.code))}
        cells = list(session.scalars(select(Responsibility).options(selectinload(Responsibility.assisting))))
        self._matrix = _matrix(session, cells, self._code_of_category, code_of_area)
        self._fallbacks = {code_of_area[area_id]: code
                           for area_id, code in org_service.fallback_departments(session).items()}

    def category_chain(self, code: str) -> list[str]:
        if code not in self._parent:
            raise NotFound(f"no category {code!r}", code="unknown_category", field="category_code")
        chain = [code]
        while (parent := self._parent.get(chain[-1])) is not None and parent not in chain:
            chain.append(parent)
        return chain

    def route(self, *, category_code: str, area_chain: Sequence[AreaLike]) -> RouteDecision:
        """``area_chain``: city first, as the locator gives it."""
        return route(category_chain=self.category_chain(category_code), area_chain=area_chain, matrix=self._matrix,
                     fallbacks=self._fallbacks)


def _matrix(session: Session, cells: Sequence[Responsibility], code_of_category: dict[int, str],
            code_of_area: dict[int, str]) -> dict[tuple[str, str], MatrixEntry]:
    """The cells as the pure ``route`` reads them, leaving out inactive departments."""
    active = _active_department_codes(session, (d for c in cells for d in (
        c.lead_department_id, *(a.department_id for a in c.assisting))))
    return {(code_of_category[c.category_id], code_of_area[c.area_id]): MatrixEntry(
        lead=active[c.lead_department_id], joint_mode=JointMode(c.joint_mode),
        assisting=tuple(active[a.department_id] for a in c.assisting if a.department_id in active))
        for c in cells if c.lead_department_id in active}


def _active_department_codes(session: Session, ids: Iterable[int]) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.code).where(
        Department.id.in_(set(ids)), Department.active.is_(True))).all())
