"""Use cases of the categories domain: the category tree, its CSV form and its time limits.

Every write — one category through the API or a whole file — goes through one validation of the
tree's final state (known parent of the same kind, no cycle, no active category under an inactive
one) and is applied all or nothing. Imports upsert by code and never delete: a category leaves
service by being deactivated, which carries down to its subclasses.

Every refusal has its problem code (and the values its words name), for an API call and for each
rejected row of a file alike, so that the screens can say it in Chinese (``problem.<code>``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, aliased

from cityops import reference
from cityops.categories.models import Category
from cityops.categories.time_limits import (
    STEP_ORDER,
    ResolvedLimit,
    Step,
    TimeLimit,
    effective_limits,
    format_limits,
    parse_limit,
    parse_limits,
    parse_step,
)
from cityops.errors import Conflict, InvalidFile, InvalidInput, NotFound
from cityops.files import csv_dict_reader, decode_text


class CategoryKind(StrEnum):
    component = "component"
    event = "event"
    message = "message"


KIND_VALUES = frozenset(k.value for k in CategoryKind)

CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]{0,31}$"
MAX_NAME_LENGTH = 200
COLUMNS = ("code", "name", "kind", "parent_code", *(s.value for s in STEP_ORDER), "active")
REQUIRED_COLUMNS = ("code", "name", "kind")
TAXONOMY_COLUMNS = ("一级分类", "二级分类", "三级分类")
TRUE_WORDS, FALSE_WORDS = {"", "true", "1", "yes", "y"}, {"false", "0", "no", "n"}
# The last resort when neither a category nor any ancestor sets a step's limit.
PLATFORM_DEFAULT_LIMITS: dict[Step, TimeLimit] = {
    Step.register: parse_limit("2wh"), Step.dispatch: parse_limit("1wh"),
    Step.acknowledge: parse_limit("2wh"), Step.handle: parse_limit("5wd"), Step.verify: parse_limit("1wd")}
_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


@dataclass(frozen=True)
class CategoryRecord:
    code: str
    name: str
    kind: CategoryKind
    parent_code: str | None
    depth: int
    active: bool
    time_limits: dict[Step, TimeLimit]
    origin: str
    updated_at: datetime


@dataclass
class TreeNode:
    category: CategoryRecord
    children: list[TreeNode] = field(default_factory=list)


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    """Subclasses not in the file that were deactivated because an ancestor was."""


@dataclass
class CategoryRow:
    """One category as a file row or API call states it, checked on its own."""

    row: int
    code: str
    name: str
    kind: CategoryKind
    parent_code: str | None
    time_limits: dict[Step, TimeLimit]
    active: bool


@dataclass
class _Node:
    id: int | None
    code: str
    name: str
    kind: str
    parent_code: str | None
    time_limits: dict[str, str]
    active: bool
    depth: int = 0


@dataclass(frozen=True)
class _Refusal:
    """Why a value is refused: in words, as a problem code, and the values the words name."""

    reason: str
    code: str
    extra: dict[str, object] | None = None


@dataclass(frozen=True)
class _Problem:
    row: int
    field: str
    reason: str
    code: str
    kind: type[InvalidInput] | type[NotFound] = InvalidInput
    extra: dict[str, object] | None = None

    @classmethod
    def of(cls, row: int, field: str, refusal: _Refusal) -> _Problem:
        return cls(row, field, refusal.reason, refusal.code, extra=refusal.extra)

    def as_dict(self) -> dict[str, object]:
        return {**(self.extra or {}), "row": self.row, "field": self.field, "reason": self.reason, "code": self.code}


def _record(category: Category, parent_code: str | None) -> CategoryRecord:
    return CategoryRecord(code=category.code, name=category.name, kind=CategoryKind(category.kind),
                          parent_code=parent_code, depth=category.depth, active=category.active,
                          time_limits=parse_limits(category.time_limits or {}), origin=category.origin,
                          updated_at=category.updated_at)


_PARENT = aliased(Category, name="parent")
"""One alias for every query: SQLAlchemy memoises its column adaptation per alias, which a fresh
alias per query would redo each time (it was a third of the cost of taking in a case)."""


def _records_query():  # noqa: ANN202
    return select(Category, _PARENT.code).outerjoin(_PARENT, Category.parent_id == _PARENT.id)


def get_category(session: Session, *, code: str) -> CategoryRecord:
    memo = reference.memo(session)
    if ("record", code) not in memo:
        row = session.execute(_records_query().where(Category.code == code)).first()
        if row is None:
            raise NotFound(f"no category with code {code!r}", code="unknown_category", field="code")
        memo["record", code] = _record(*row)
    return memo["record", code]


def list_categories(session: Session, *, kind: CategoryKind | None = None, parent_code: str | None = None,
                    depth: int | None = None, active: bool | None = None, q: str | None = None,
                    limit: int | None = 200, offset: int = 0) -> tuple[list[CategoryRecord], int]:
    """Categories ordered by kind and code; ``parent_code`` lists one category's subclasses."""
    query = _records_query()
    if kind is not None:
        query = query.where(Category.kind == kind.value)
    if parent_code is not None:
        parent_id = session.scalar(select(Category.id).where(Category.code == parent_code))
        if parent_id is None:
            raise NotFound(f"no category with code {parent_code!r}", code="unknown_category", field="parent")
        query = query.where(Category.parent_id == parent_id)
    if depth is not None:
        query = query.where(Category.depth == depth)
    if active is not None:
        query = query.where(Category.active.is_(active))
    if q:
        query = query.where(Category.name.contains(q, autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Category.kind, Category.code).limit(limit).offset(offset)).all()
    return [_record(*row) for row in rows], total


def category_tree(session: Session, *, kind: CategoryKind | None = None,
                  active_only: bool = False) -> list[TreeNode]:
    """The forest of categories, roots and children ordered by kind and code."""
    records, _ = list_categories(session, kind=kind, active=True if active_only else None, limit=None)
    # Sorted here, not by the store's collation, so both stores export the same order.
    records.sort(key=lambda r: (r.kind.value, r.code))
    nodes = {r.code: TreeNode(r) for r in records}
    roots: list[TreeNode] = []
    for record in records:
        parent = nodes.get(record.parent_code) if record.parent_code else None
        if parent is not None:
            parent.children.append(nodes[record.code])
        elif record.parent_code is None:
            roots.append(nodes[record.code])
    return roots


def category_chain(session: Session, *, code: str) -> list[CategoryRecord]:
    """The category and its ancestors, most specific first (for routing and time limits)."""
    memo = reference.memo(session)
    if ("chain", code) not in memo:
        chain = [get_category(session, code=code)]
        while chain[-1].parent_code is not None and len(chain) <= chain[0].depth:
            chain.append(get_category(session, code=chain[-1].parent_code))
        memo["chain", code] = chain
    return list(memo["chain", code])


def code_of(session: Session, *, category_id: int) -> str:
    memo = reference.memo(session)
    if ("code", category_id) not in memo:
        code = session.scalar(select(Category.code).where(Category.id == category_id))
        if code is None:
            raise NotFound(f"no category with id {category_id}", code="unknown_category")
        memo["code", category_id] = code
    return memo["code", category_id]


def resolve_label(session: Session, *, label: str) -> str | None:
    """The category a classifier label names: a code as it stands, or an active category's exact name
    (the citizen-message classes first, as labelled messages use their names)."""
    if session.scalar(select(Category.id).where(Category.code == label)) is not None:
        return label
    rows = session.execute(select(Category.code, Category.kind).where(
        Category.name == label, Category.active.is_(True)).order_by(Category.depth, Category.code)).all()
    return min(rows, key=lambda row: row.kind != "message").code if rows else None


def related_categories(session: Session, *, code: str) -> dict[int, tuple[str, str | None]]:
    """The category and its siblings (same parent), by id: (code, parent code). Reports of related
    categories may describe one problem (e.g. 暴露垃圾 and 积存垃圾渣土)."""
    memo = reference.memo(session)
    if ("kin", code) not in memo:
        own = session.execute(select(Category.id, Category.parent_id).where(Category.code == code)).first()
        if own is None:
            return {}
        query = select(Category.id, Category.code, _PARENT.code).outerjoin(_PARENT, Category.parent_id == _PARENT.id)
        query = query.where(Category.id == own.id) if own.parent_id is None else query.where(
            Category.parent_id == own.parent_id)
        memo["kin", code] = {row[0]: (row[1], row[2]) for row in session.execute(query)}
    return dict(memo["kin", code])


def category_ids(session: Session, *, codes: Iterable[str]) -> dict[str, int]:
    """Code → id of the known categories among ``codes`` (for other domains' foreign keys)."""
    wanted = tuple(sorted(set(codes)))
    if not wanted:
        return {}
    memo = reference.memo(session)
    if ("ids", wanted) not in memo:
        memo["ids", wanted] = dict(session.execute(select(Category.code, Category.id).where(
            Category.code.in_(wanted))).all())
    return dict(memo["ids", wanted])


def category_limits(session: Session, *, code: str) -> dict[Step, ResolvedLimit]:
    chain = category_chain(session, code=code)
    return effective_limits([(c.code, c.time_limits) for c in chain], default=PLATFORM_DEFAULT_LIMITS)


def _check_code(code: str) -> _Refusal | None:
    if not code:
        return _Refusal("a code is required", code="value_required")
    if len(code) > 32 or not set(code) <= _CODE_CHARS or code[0] in "_-":
        return _Refusal(f"{code!r} is not a category code: 1–32 upper-case letters, digits, '-' or '_', "
                        "starting with a letter or digit", code="bad_category_code", extra={"value": code})
    return None


def _check_name(name: str) -> _Refusal | None:
    """Why ``name`` cannot name a category, if it cannot; it comes trimmed, so that blanks alone are no name."""
    if not name:
        return _Refusal("a name is required", code="value_required")
    if len(name) > MAX_NAME_LENGTH:
        return _Refusal(f"a name has at most {MAX_NAME_LENGTH} characters", code="name_too_long",
                        extra={"max_length": MAX_NAME_LENGTH})
    return None


def _load_nodes(session: Session) -> dict[str, _Node]:
    rows = session.execute(select(Category.id, Category.code, Category.name, Category.kind,
                                  Category.parent_id, Category.time_limits, Category.active,
                                  Category.depth)).all()
    code_of = {r.id: r.code for r in rows}
    return {r.code: _Node(id=r.id, code=r.code, name=r.name, kind=r.kind,
                          parent_code=code_of.get(r.parent_id), time_limits=dict(r.time_limits or {}),
                          active=r.active, depth=r.depth) for r in rows}


def _ancestors(code: str, nodes: Mapping[str, _Node]) -> tuple[list[str], bool]:
    """The codes above ``code``, nearest first, and whether the walk ran into a cycle."""
    seen, chain = {code}, []
    parent = nodes[code].parent_code
    while parent is not None and parent in nodes:
        if parent in seen:
            return chain + [parent], True
        seen.add(parent)
        chain.append(parent)
        parent = nodes[parent].parent_code
    return chain, False


def _validate(rows: Sequence[CategoryRow], existing: Mapping[str, _Node],
              rejected: frozenset[str] = frozenset()) -> tuple[list[_Problem], dict[str, _Node]]:
    """Problems of the tree as ``rows`` would leave it, and that tree. A parent among ``rejected``
    (rows already refused for their own cells) is not reported again as unknown."""
    problems: list[_Problem] = []
    final = {code: replace(node) for code, node in existing.items()}
    for row in rows:
        old = existing.get(row.code)
        final[row.code] = _Node(id=old.id if old else None, code=row.code, name=row.name, kind=row.kind.value,
                                parent_code=row.parent_code, time_limits=format_limits(row.time_limits),
                                active=row.active)
    for row in rows:
        old = existing.get(row.code)
        if old is not None and old.kind != row.kind.value:
            problems.append(_Problem(row.row, "kind", f"{row.code} is of kind {old.kind}; a category's "
                                                      "kind cannot change", code="kind_unchangeable"))
        if row.parent_code is None or row.parent_code in rejected:
            continue
        parent = final.get(row.parent_code)
        if parent is None:
            problems.append(_Problem(row.row, "parent_code", f"unknown parent {row.parent_code!r}",
                                     code="unknown_category", kind=NotFound))
            continue
        if parent.kind != row.kind.value:
            problems.append(_Problem(row.row, "parent_code",
                                     f"parent {parent.code} is of kind {parent.kind}, not {row.kind.value}",
                                     code="parent_kind_mismatch"))
        ancestors, cycle = _ancestors(row.code, final)
        if cycle:
            problems.append(_Problem(row.row, "parent_code", "cycle: " + " → ".join([row.code, *ancestors]),
                                     code="category_cycle"))
            continue
        inactive = next((a for a in ancestors if not final[a].active), None)
        if row.active and inactive is not None:
            problems.append(_Problem(row.row, "active", f"{inactive} above it is inactive; activate it first "
                                                        "or make this row inactive", code="parent_inactive",
                                     extra={"inactive": inactive}))
    return problems, final


def _write(session: Session, rows: Sequence[CategoryRow], *, existing: Mapping[str, _Node],
           final: dict[str, _Node], origin: str) -> ImportReport:
    """Store a validated final tree: one bulk insert for new codes, one bulk update for changes."""
    report = ImportReport(rows=len(rows))
    in_file = {r.code for r in rows}
    new = [final[r.code] for r in rows if r.code not in existing]
    if new:
        session.execute(insert(Category), [
            {"code": n.code, "name": n.name, "kind": n.kind, "parent_id": None, "depth": 0,
             "time_limits": n.time_limits, "active": n.active, "origin": origin} for n in new])
        ids = dict(session.execute(select(Category.code, Category.id).where(
            Category.code.in_([n.code for n in new]))).all())
        for node in new:
            node.id = ids[node.code]
    report.created = len(new)
    changes: list[dict[str, object]] = []
    for node in final.values():
        ancestors, _ = _ancestors(node.code, final)
        node.depth = len(ancestors)
        if node.active and any(not final[a].active for a in ancestors):
            node.active = False
            report.deactivated += 1
        old = existing.get(node.code)
        if old is not None:
            changed = (old.name, old.parent_code, old.time_limits, old.active) != (
                node.name, node.parent_code, node.time_limits, node.active)
            if node.code in in_file:
                report.updated += changed
                report.unchanged += not changed
            if not changed and old.depth == node.depth:
                continue
        changes.append({"id": node.id, "name": node.name, "depth": node.depth, "active": node.active,
                        "time_limits": node.time_limits,
                        "parent_id": final[node.parent_code].id if node.parent_code else None})
    if changes:
        session.execute(update(Category), changes)
    # Bulk statements bypass the identity map: reload any category object held in this session.
    for obj in [o for o in session.identity_map.values() if isinstance(o, Category)]:
        session.expire(obj)
    session.flush()
    return report


def _as_error(problems: Sequence[_Problem]) -> InvalidFile:
    problems = sorted(problems, key=lambda p: p.row)
    return InvalidFile(f"{len({p.row for p in problems})} row(s) rejected, nothing was imported: "
                       + "; ".join(f"row {p.row} {p.field}: {p.reason}" for p in problems[:5])
                       + (" …" if len(problems) > 5 else ""),
                       field="rows", extra={"rows": [p.as_dict() for p in problems]})


def _apply_rows(session: Session, rows: Sequence[CategoryRow], *, origin: str,
                problems: Sequence[_Problem] = (), rejected: frozenset[str] = frozenset()) -> ImportReport:
    """All or nothing: every problem of the file (``problems`` found in its cells, and those of the
    tree it would make) is reported at once, or the whole file is written."""
    existing = _load_nodes(session)
    tree_problems, final = _validate(rows, existing, rejected)
    if problems or tree_problems:
        raise _as_error([*problems, *tree_problems])
    return _write(session, rows, existing=existing, final=final, origin=origin)


def _apply_one(session: Session, row: CategoryRow, *, origin: str) -> CategoryRecord:
    """One API write; its first problem is raised as that problem's own error."""
    existing = _load_nodes(session)
    problems, final = _validate([row], existing)
    if problems:
        first = problems[0]
        raise first.kind(first.reason, code=first.code, field=first.field, extra=first.extra)
    _write(session, [row], existing=existing, final=final, origin=origin)
    return get_category(session, code=row.code)


def create_category(session: Session, *, code: str, name: str, kind: CategoryKind,
                    parent_code: str | None = None, time_limits: Mapping[str, str | None] | None = None,
                    active: bool = True, origin: str = "api") -> CategoryRecord:
    for refusal, where in ((_check_code(code), "code"), (_check_name(name.strip()), "name")):
        if refusal:
            raise InvalidInput(refusal.reason, code=refusal.code, field=where, extra=refusal.extra)
    if session.scalar(select(Category.id).where(Category.code == code)) is not None:
        raise Conflict(f"category code {code!r} already exists", code="duplicate_code", field="code")
    row = CategoryRow(row=1, code=code, name=name.strip(), kind=CategoryKind(kind), parent_code=parent_code,
                      time_limits=parse_limits(time_limits or {}), active=active)
    return _apply_one(session, row, origin=origin)


_KEEP = object()


def update_category(session: Session, *, code: str, name: str | None = None, parent_code: object = _KEEP,
                    time_limits: Mapping[str, str | None] | None = None,
                    active: bool | None = None) -> CategoryRecord:
    """Change a category. ``parent_code=None`` makes it a root; ``time_limits`` sets the steps it
    names and clears (back to inheriting) those given as None; deactivating carries down."""
    current = get_category(session, code=code)
    if name is not None and (refusal := _check_name(name.strip())):
        raise InvalidInput(refusal.reason, code=refusal.code, field="name", extra=refusal.extra)
    limits = dict(current.time_limits)
    for key, text in (time_limits or {}).items():
        step = parse_step(key, field=f"time_limits.{key}")
        if text is None:
            limits.pop(step, None)
        else:
            limits[step] = parse_limit(text, field=f"time_limits.{key}")
    if parent_code is not _KEEP and parent_code == code:
        raise InvalidInput("a category cannot be its own parent", code="category_cycle", field="parent_code")
    row = CategoryRow(row=1, code=code, name=name.strip() if name is not None else current.name,
                      kind=current.kind, time_limits=limits,
                      active=current.active if active is None else active,
                      parent_code=current.parent_code if parent_code is _KEEP else parent_code)
    return _apply_one(session, row, origin=current.origin)


def parse_csv(data: bytes | str) -> tuple[list[CategoryRow], list[_Problem], frozenset[str]]:
    """The rows of a category CSV file that are sound on their own, the problems of the others, and
    those others' codes. ``row`` counts the header as row 1, as a spreadsheet does."""
    rows: list[CategoryRow] = []
    problems: list[_Problem] = []
    rejected: set[str] = set()
    accepted: set[str] = set()
    seen: dict[str, int] = {}
    reader = csv_dict_reader(decode_text(data), columns=COLUMNS, required=REQUIRED_COLUMNS)
    for number, raw in enumerate(reader, start=2):
        if None in raw:
            problems.append(_Problem(number, "row", "the row has more cells than the header", code="row_too_long"))
            continue
        cell = {k: (v or "").strip() for k, v in raw.items()}
        row_problems = [_Problem.of(number, f, r) for f, r in (("code", _check_code(cell["code"])),
                                                                ("name", _check_name(cell["name"]))) if r]
        if cell["code"] in seen:
            row_problems.append(_Problem(number, "code", f"duplicate code {cell['code']!r} (also row "
                                                         f"{seen[cell['code']]})", code="code_repeated",
                                         extra={"value": cell["code"], "first_row": seen[cell["code"]]}))
        seen.setdefault(cell["code"], number)
        if cell["kind"] not in KIND_VALUES:
            row_problems.append(_Problem(number, "kind", f"kind must be one of {', '.join(CategoryKind)}",
                                         code="bad_category_kind"))
        limits: dict[Step, TimeLimit] = {}
        for step in STEP_ORDER:
            if cell.get(step.value):
                try:
                    limits[step] = parse_limit(cell[step.value], field=step.value)
                except InvalidInput as exc:
                    row_problems.append(_Problem(number, step.value, exc.detail, code=exc.code,
                                                 extra=exc.extra))
        active_word = cell.get("active", "").lower()
        if active_word not in TRUE_WORDS | FALSE_WORDS:
            row_problems.append(_Problem(number, "active", "active must be true or false", code="bad_active_flag"))
        problems.extend(row_problems)
        if row_problems:
            if cell["code"] not in accepted:
                rejected.add(cell["code"])
            continue
        accepted.add(cell["code"])
        rows.append(CategoryRow(row=number, code=cell["code"], name=cell["name"],
                                    kind=CategoryKind(cell["kind"]), time_limits=limits,
                                    parent_code=cell.get("parent_code") or None,
                                    active=active_word in TRUE_WORDS))
    return rows, problems, frozenset(rejected)


def import_csv(session: Session, *, data: bytes | str, origin: str = "import") -> ImportReport:
    """Upsert the categories of a CSV file, all or nothing; every bad row is reported at once."""
    rows, problems, rejected = parse_csv(data)
    return _apply_rows(session, rows, origin=origin, problems=problems, rejected=rejected)


def export_csv(session: Session, *, kind: CategoryKind | None = None) -> str:
    """The tree in the import format: parents before children, siblings by code."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)

    def walk(nodes: Iterable[TreeNode]) -> None:
        for node in nodes:
            c = node.category
            writer.writerow([c.code, c.name, c.kind.value, c.parent_code or "",
                             *(str(c.time_limits[s]) if s in c.time_limits else "" for s in STEP_ORDER),
                             "true" if c.active else "false"])
            walk(node.children)

    walk(category_tree(session, kind=kind))
    return out.getvalue()


def seed_city_management(session: Session) -> ImportReport:
    """The standard component and event classes shipped with the package (upserted)."""
    data = resources.files("cityops.categories").joinpath("data", "city_management.csv").read_bytes()
    return import_csv(session, data=data, origin="seed")


def import_message_taxonomy(session: Session, *, path: Path | str) -> ImportReport:
    """A three-level citizen-message taxonomy (一级分类,二级分类,三级分类) as kind ``message``:
    ``M01``/``M0101``/``M010101`` numbered in file order; equal names under different parents are
    different classes. Steps inherit the platform default until limits are set."""
    reader = csv_dict_reader(decode_text(Path(path).read_bytes()), columns=TAXONOMY_COLUMNS, required=TAXONOMY_COLUMNS)
    codes: dict[tuple[str, ...], str] = {}
    rows_of: dict[tuple[str, ...], int] = {}  # the row that named each class first
    children: dict[tuple[str, ...], int] = {}
    rows: list[CategoryRow] = []
    problems: list[_Problem] = []
    for number, raw in enumerate(reader, start=2):
        names = tuple((raw.get(c) or "").strip() for c in TAXONOMY_COLUMNS)
        bad = [(c, r) for c, n in zip(TAXONOMY_COLUMNS, names, strict=True) if (r := _check_name(n))]
        if None in raw:
            bad.append(("row", _Refusal("the row has more cells than the header", code="row_too_long")))
        elif names in codes:
            bad.append((TAXONOMY_COLUMNS[2], _Refusal(
                f"repeats {' / '.join(names)} (also row {rows_of[names]})", code="class_repeated",
                extra={"value": " / ".join(names), "first_row": rows_of[names]})))
        problems.extend(_Problem.of(number, c, r) for c, r in bad)
        for level in range(1, 4) if not bad else ():
            key = names[:level]
            if key in codes:
                continue
            if children.get(key[:-1], 0) >= 99:
                problems.append(_Problem(number, TAXONOMY_COLUMNS[level - 1],
                                         "more than 99 classes under one parent", code="too_many_classes",
                                         extra={"value": key[-1], "max": 99}))
                break
            children[key[:-1]] = children.get(key[:-1], 0) + 1
            parent = codes.get(key[:-1])
            codes[key] = (parent or "M") + f"{children[key[:-1]]:02d}"
            rows_of[key] = number
            rows.append(CategoryRow(row=number, code=codes[key], name=key[-1], kind=CategoryKind.message,
                                    parent_code=parent, time_limits={}, active=True))
    return _apply_rows(session, rows, origin="taxonomy", problems=problems)
