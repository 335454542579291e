"""HTTP API of the responsibility matrix (权责清单): category × area → departments.

Reading needs ``read_records`` and shows the cells in your jurisdiction; changing a cell needs
``manage_responsibility`` and the cell's area in your jurisdiction.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi.responses import Response

from cityops.deps import DbSession, Reader, requires
from cityops.files import MEGABYTE, read_limited
from cityops.geo import service as geo_service
from cityops.org import responsibility as service
from cityops.org import service as org_service
from cityops.org.access import Principal, require_jurisdiction
from cityops.org.responsibility import CellSpec, CellView
from cityops.org.responsibility_schemas import (
    DepartmentRefOut,
    MatrixImportReportOut,
    ResponsibilityIn,
    ResponsibilityOut,
    ResponsibilityPage,
    RouteOut,
)
from cityops.org.roles import Permission
from cityops.problems import problem_responses

router = APIRouter(prefix="/api/v1/responsibilities", tags=["responsibility matrix"])
MatrixManager = Annotated[Principal, requires(Permission.manage_responsibility)]
MAX_UPLOAD_BYTES = 10 * MEGABYTE
CSV_MEDIA_TYPE = "text/csv"
CategoryPath = Annotated[str, Path(min_length=1, max_length=32, description="category code, e.g. E0102")]
AreaPath = Annotated[str, Path(min_length=1, max_length=64, description="area code")]
ERRORS = problem_responses(401, 403, 404, 422)
# 400: a body that cannot be parsed at all (not JSON, broken multipart).
WRITE_ERRORS = problem_responses(400, 401, 403, 404, 422)


def _out(cell: CellView) -> ResponsibilityOut:
    return ResponsibilityOut(**{**cell.__dict__,
                                "assisting_department_codes": list(cell.assisting_department_codes)})


@router.get("", response_model=ResponsibilityPage, summary="List matrix cells in your jurisdiction",
            responses=ERRORS)
def list_responsibilities(
    session: DbSession,
    viewer: Reader,
    category: Annotated[str | None, Query(max_length=32, description="exactly this category")] = None,
    area: Annotated[str | None, Query(max_length=64, description="this area and the areas under it")] = None,
    department: Annotated[str | None, Query(max_length=64, description="leading or assisting")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ResponsibilityPage:
    cells, total = service.list_cells(session, viewer=viewer, category_code=category, area_code=area,
                                      department_code=department, limit=limit, offset=offset)
    return ResponsibilityPage(items=[_out(c) for c in cells], total=total, limit=limit, offset=offset)


@router.get("/export", response_class=Response, summary="Export the matrix in your jurisdiction as CSV",
            responses={200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
                             "description": "columns category_code,area_code,lead_department_code,"
                                            "assisting_department_codes (';'-separated),joint_mode,note"},
                       **problem_responses(401, 403)})
def export_responsibilities(session: DbSession, viewer: Reader) -> Response:
    return Response(service.export_csv(session, viewer=viewer), media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="responsibilities.csv"'})


@router.post("/import", response_model=MatrixImportReportOut, summary="Import matrix cells from CSV "
             "(all or nothing)", responses=problem_responses(400, 401, 403, 422))
def import_responsibilities(
    session: DbSession,
    manager: MatrixManager,
    file: Annotated[UploadFile, File(description="CSV, UTF-8 or GB18030; columns as /export writes them")],
) -> MatrixImportReportOut:
    """Upsert by (category, area); cells not in the file stay. Every row's area must lie in your
    jurisdiction. If any row is bad nothing is written, and the 422 problem lists every bad row in
    ``rows`` as ``{row, field, reason}`` (the header is row 1)."""
    raw = read_limited(file.file, max_bytes=MAX_UPLOAD_BYTES)
    return MatrixImportReportOut(**service.import_csv(session, data=raw, actor=manager).__dict__)


@router.get("/route", response_model=RouteOut, summary="Preview who would lead a case",
            responses=problem_responses(401, 403, 404, 409, 422))
def preview_route(
    session: DbSession,
    viewer: Reader,
    category: Annotated[str, Query(min_length=1, max_length=32, description="category code")],
    area: Annotated[str, Query(min_length=1, max_length=64, description="the case's deepest known area")],
) -> RouteOut:
    """The most specific area's cell wins, then the most specific category's; with no cell anywhere
    the street's fallback department leads (属地兜底). 409 ``unroutable`` when even that is missing."""
    require_jurisdiction(viewer, geo_service.get_area(session, code=area).path, what="area")
    decision = service.route_case(session, category_code=category, area_code=area)

    def ref(code: str) -> DepartmentRefOut:
        return DepartmentRefOut(code=code, name=org_service.get_department(session, code=code).name)

    return RouteOut(category_code=category, area_code=area, lead=ref(decision.lead),
                    assisting=[ref(c) for c in decision.assisting], joint_mode=decision.joint_mode,
                    matched_area_code=decision.matched_area, matched_category_code=decision.matched_category,
                    fallback=decision.fallback, reason=decision.reason)


@router.get("/{category_code}/{area_code}", response_model=ResponsibilityOut, summary="One matrix cell",
            responses=ERRORS)
def get_responsibility(session: DbSession, viewer: Reader, category_code: CategoryPath,
                       area_code: AreaPath) -> ResponsibilityOut:
    return _out(service.get_cell(session, category_code=category_code, area_code=area_code, viewer=viewer))


@router.put("/{category_code}/{area_code}", response_model=ResponsibilityOut,
            summary="Set (create or replace) a matrix cell",
            responses={201: {"model": ResponsibilityOut, "description": "the cell was created"},
                       **WRITE_ERRORS})
def set_responsibility(session: DbSession, manager: MatrixManager, category_code: CategoryPath,
                       area_code: AreaPath, body: ResponsibilityIn, response: Response) -> ResponsibilityOut:
    """Lead and assisting departments must be active and serve the cell's area or an area that
    contains it; the lead cannot also assist. 201 when the cell is new, 200 when replaced."""
    spec = CellSpec(category_code=category_code, area_code=area_code,
                    lead_department_code=body.lead_department_code,
                    assisting_department_codes=tuple(body.assisting_department_codes),
                    joint_mode=body.joint_mode.value, note=body.note)
    cell, created = service.set_cell(session, spec=spec, actor=manager)
    response.status_code = 201 if created else 200
    return _out(cell)


@router.delete("/{category_code}/{area_code}", status_code=204, response_class=Response,
               summary="Remove a matrix cell", responses=ERRORS)
def delete_responsibility(session: DbSession, manager: MatrixManager, category_code: CategoryPath,
                          area_code: AreaPath) -> Response:
    """Cases of this category here then route by a wider area's cell, or fall back to the street."""
    service.delete_cell(session, category_code=category_code, area_code=area_code, actor=manager)
    return Response(status_code=204)
