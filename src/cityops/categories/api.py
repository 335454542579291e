"""HTTP API of the categories domain.

Categories are public reference data: anyone (citizens, Open311 clients) may read them without an
account. Changing them, and the CSV round trip, needs ``manage_categories``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response

from cityops.categories import service
from cityops.categories.schemas import (
    CategoryDetail,
    CategoryIn,
    CategoryNode,
    CategoryOut,
    CategoryPage,
    CategoryPatch,
    CategoryTree,
    EffectiveLimitOut,
    ImportReportOut,
)
from cityops.categories.service import CategoryKind, CategoryRecord, TreeNode
from cityops.categories.time_limits import Step
from cityops.deps import DbSession, requires
from cityops.files import MEGABYTE, read_limited
from cityops.org.access import Principal
from cityops.org.roles import Permission
from cityops.problems import problem_responses

router = APIRouter(prefix="/api/v1/categories", tags=["categories"])
Manager = Annotated[Principal, requires(Permission.manage_categories)]
MAX_UPLOAD_BYTES = 10 * MEGABYTE
CSV_MEDIA_TYPE = "text/csv"
KindFilter = Annotated[CategoryKind | None, Query(description="component (部件), event (事件) or message")]
# 400: a body that cannot be parsed at all (not JSON, broken multipart).
WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 422)


def _limits_out(record: CategoryRecord) -> dict[Step, str]:
    return {step: str(limit) for step, limit in record.time_limits.items()}


def _out(record: CategoryRecord) -> CategoryOut:
    return CategoryOut(code=record.code, name=record.name, kind=record.kind, parent_code=record.parent_code,
                       depth=record.depth, active=record.active, time_limits=_limits_out(record))


def _detail(session: DbSession, code: str) -> CategoryDetail:
    chain = service.category_chain(session, code=code)
    resolved = service.category_limits(session, code=code)
    effective = {step: EffectiveLimitOut(limit=str(r.limit), words=r.limit.words, source=r.source,
                                         working_time=r.limit.unit.working) for step, r in resolved.items()}
    record = chain[0]
    return CategoryDetail(**_out(record).model_dump(), path=[c.code for c in reversed(chain)],
                          effective_limits=effective, origin=record.origin, updated_at=record.updated_at)


def _node(tree: TreeNode) -> CategoryNode:
    c = tree.category
    return CategoryNode(code=c.code, name=c.name, kind=c.kind, active=c.active, time_limits=_limits_out(c),
                        children=[_node(child) for child in tree.children])


@router.get("", response_model=CategoryPage, summary="List categories (public)",
            responses=problem_responses(404, 422))
def list_categories(
    session: DbSession,
    kind: KindFilter = None,
    parent: Annotated[str | None, Query(max_length=32, description="list this category's subclasses")] = None,
    depth: Annotated[int | None, Query(ge=0, le=20, description="0: major classes only")] = None,
    active: Annotated[bool | None, Query(description="only active (true) or inactive (false) ones")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="part of the name")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CategoryPage:
    records, total = service.list_categories(session, kind=kind, parent_code=parent, depth=depth,
                                             active=active, q=q, limit=limit, offset=offset)
    return CategoryPage(items=[_out(r) for r in records], total=total, limit=limit, offset=offset)


@router.get("/tree", response_model=CategoryTree, summary="The category tree (public)",
            responses=problem_responses(422))
def category_tree(
    session: DbSession,
    kind: KindFilter = None,
    active_only: Annotated[bool, Query(description="leave out inactive categories")] = False,
) -> CategoryTree:
    roots = service.category_tree(session, kind=kind, active_only=active_only)

    def count(nodes: list[TreeNode]) -> int:
        return sum(1 + count(n.children) for n in nodes)

    return CategoryTree(items=[_node(r) for r in roots], total=count(roots))


@router.get("/export", response_class=Response, summary="Export categories as CSV",
            responses={200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
                             "description": "columns code,name,kind,parent_code,register,dispatch,"
                                            "acknowledge,handle,verify,active"},
                       **problem_responses(401, 403, 422)})
def export_categories(session: DbSession, _: Manager, kind: KindFilter = None) -> Response:
    """The same format ``/import`` reads: parents before children, so exporting and re-importing
    changes nothing."""
    return Response(service.export_csv(session, kind=kind), media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="categories.csv"'})


@router.post("/import", response_model=ImportReportOut, summary="Import categories from CSV (all or nothing)",
             responses=problem_responses(400, 401, 403, 422))
def import_categories(
    session: DbSession,
    _: Manager,
    file: Annotated[UploadFile, File(description="CSV, UTF-8 or GB18030; columns as /export writes them")],
) -> ImportReportOut:
    """Upsert by code: new codes are added, known ones updated, nothing is deleted (deactivate with
    ``active=false``). If any row is bad nothing is written, and the 422 problem lists every bad
    row in ``rows`` as ``{row, field, reason}`` (the header is row 1)."""
    raw = read_limited(file.file, max_bytes=MAX_UPLOAD_BYTES)
    report = service.import_csv(session, data=raw)
    return ImportReportOut(**report.__dict__)


@router.get("/{code}", response_model=CategoryDetail, summary="One category with its effective time limits",
            responses=problem_responses(404, 422))
def get_category(session: DbSession, code: str) -> CategoryDetail:
    return _detail(session, code)


@router.post("", response_model=CategoryDetail, status_code=201, summary="Create a category",
             responses=WRITE_ERRORS)
def create_category(session: DbSession, _: Manager, body: CategoryIn) -> CategoryDetail:
    service.create_category(session, code=body.code, name=body.name, kind=body.kind,
                            parent_code=body.parent_code, active=body.active,
                            time_limits={s.value: v for s, v in body.time_limits.items()})
    return _detail(session, body.code)


@router.patch("/{code}", response_model=CategoryDetail, summary="Change a category", responses=WRITE_ERRORS)
def update_category(session: DbSession, _: Manager, code: str, body: CategoryPatch) -> CategoryDetail:
    changes = body.model_dump(include=body.model_fields_set - {"time_limits"})
    if body.time_limits is not None:
        changes["time_limits"] = {step.value: limit for step, limit in body.time_limits.items()}
    service.update_category(session, code=code, **changes)
    return _detail(session, code)
