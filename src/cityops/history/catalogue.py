"""What an import needs to exist before its rows: the categories of the source's request types, the
departments its records name, and the area the history belongs to — found, or created where the
mapping and the caller allow it, always through the owning domains' services.

Decisions:

- **Categories.** A source value listed in ``[categories.codes]`` goes to that existing category.
  Any other value is a subclass of ``[categories] parent`` (created on first use, named
  ``parent_name``) with the source's own name, found again by that name on the next import. Its
  code is the parent's code and the name in capitals (``LA311-BULKY-ITEMS``), shortened with a hash
  of the name when too long or already taken. With ``create = false`` unknown values reject their rows.
- **Departments** are never invented silently: a source value (through ``[departments.codes]``)
  names an existing active department, or the caller asks for the missing ones to be created at the
  history's area with ``kind = "imported"``; otherwise it is reported, and its cases are routed by
  the matrix instead.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from cityops.categories import service as categories_service
from cityops.errors import InvalidFile, InvalidInput, NotFound
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area
from cityops.history.mapping import CategoryPolicy, HistoryMapping
from cityops.org import service as org_service
from cityops.org.access import Principal

ORIGIN = "history"
MAX_CODE = 32


@dataclass
class Categories:
    codes: dict[str, str] = field(default_factory=dict)
    """Source value → platform category code."""
    created: list[str] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)
    """Source values with no category (the mapping does not let the import create them)."""


def _slug(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-")


def _hashed(parent: str, slug: str, name: str) -> str:
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:6].upper()
    room = MAX_CODE - len(parent) - len(digest) - 2
    return f"{parent}-{slug[:room].rstrip('-')}-{digest}" if room > 0 and slug[:room] else f"{parent}-{digest}"


def new_category_codes(parent: str, names: Iterable[str], taken: set[str]) -> dict[str, str]:
    """A code for each new name: ``PARENT-NAME-IN-CAPITALS``, or with a hash of the name when that is
    too long, empty, already ``taken`` or shared by two names."""
    plain = {name: f"{parent}-{_slug(name)}" for name in names}
    shared = {code for code in plain.values() if list(plain.values()).count(code) > 1}
    return {name: code if _slug(name) and len(code) <= MAX_CODE and code not in taken and code not in shared
            else _hashed(parent, _slug(name), name) for name, code in plain.items()}


def resolve_categories(session: Session, *, policy: CategoryPolicy, names: Iterable[str]) -> Categories:
    result = Categories()
    names = set(names)
    explicit = {name: code for name, code in policy.codes.items() if name in names}
    known = categories_service.category_ids(session, codes=explicit.values())
    wrong = sorted(name for name, code in explicit.items() if code not in known)
    if wrong:
        raise InvalidFile(f"categories.codes names categories that do not exist: "
                          f"{', '.join(f'{n} = {explicit[n]}' for n in wrong)}", field=f"categories.codes.{wrong[0]}")
    result.codes.update(explicit)
    rest = names - set(explicit)
    parent_exists = bool(categories_service.category_ids(session, codes=[policy.parent]))
    if parent_exists:
        children, _ = categories_service.list_categories(session, parent_code=policy.parent, limit=None)
        by_name = {c.name: c.code for c in children}
        result.codes.update({name: by_name[name] for name in rest if name in by_name})
    missing = sorted(rest - set(result.codes))
    if not missing:
        return result
    if not policy.create:
        result.unknown = set(missing)
        return result
    plain = {name: f"{policy.parent}-{_slug(name)}" for name in missing}
    taken = set(categories_service.category_ids(session, codes=plain.values()))
    codes = new_category_codes(policy.parent, missing, taken)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "name", "kind", "parent_code"])
    if not parent_exists:
        writer.writerow([policy.parent, policy.parent_name, policy.kind, ""])
    for name in missing:
        writer.writerow([codes[name], name, policy.kind, policy.parent])
    categories_service.import_csv(session, data=out.getvalue(), origin=ORIGIN)
    result.codes.update(codes)
    result.created = ([] if parent_exists else [policy.parent]) + [codes[n] for n in missing]
    return result


@dataclass
class Departments:
    codes: dict[str, str] = field(default_factory=dict)
    """Source value → code of an existing active department."""
    created: list[str] = field(default_factory=list)
    unknown: dict[str, str] = field(default_factory=dict)
    """Source value → the department code it would have; none exists."""


def resolve_departments(session: Session, *, mapping: HistoryMapping, values: Iterable[str], area: Area,
                        create: bool) -> Departments:
    result = Departments()
    for value in sorted(set(values)):
        code = mapping.department_code(value)
        try:
            department = org_service.get_department(session, code=code)
        except NotFound:
            department = None
        if department is not None and department.active:
            result.codes[value] = code
        elif department is None and create:
            org_service.create_department(session, code=code, name=mapping.department_names.get(code, code),
                                          level=area.level, area_code=area.code, kind="imported", origin=ORIGIN)
            result.codes[value] = code
            result.created.append(code)
        else:
            result.unknown[value] = code
    return result


def history_area(session: Session, *, area_code: str | None) -> Area:
    """The area the history belongs to: the one named, or the store's only city."""
    if area_code is not None:
        return geo_service.get_area(session, code=area_code)
    cities, _ = geo_service.list_areas(session, within_path="/", level=AreaLevel.city)
    if len(cities) != 1:
        raise InvalidInput(f"the store holds {len(cities)} cities; name the area the history belongs to "
                           "with --area" if cities else "the store holds no areas; import the city's "
                           "boundaries first (cityops areas import)", field="area")
    return cities[0]


def receiver_for(area: Area, *, name: str) -> Principal:
    """The importing system, as the receiver of every report: cases without a place belong to its
    area, and a place outside it is refused."""
    return Principal(id=0, kind="client", name=name, roles=("system",), area_id=area.id, area_code=area.code,
                     area_path=area.path, area_level=area.level)
