"""`cityops responsibilities learn`: propose a responsibility matrix from imported history.

Every imported case records on its registration what the source said (``history``: the department,
the queue). For each category and area of a chosen level the most frequent department (or queue)
is proposed as the lead, with its support (the cases it handled) and its share of the cases there.

Decisions:

- **Compact by default.** Routing takes the most specific cell first, so a cell high up says
  "usually this department", and a cell further down is proposed only where that area's own majority
  differs from the one above. The matrix lets a department own cells only at the area it serves and
  below, so a district's bureau gets cells at its district, not at the city. ``--all-cells``
  proposes every area of the level asked for instead.
- **Thresholds.** A cell needs ``--min-support`` cases for its lead and a ``--min-share`` of the
  cases there; weaker ones are left to the wider cell (or the street's fallback department).
- **Departments are not invented.** A lead the platform does not know is listed with its cells and
  left out of the file, unless ``--create-departments`` creates it at the city (``kind =
  "imported"``). The file is the matrix CSV the existing import reads; nothing is applied here: an
  administrator reviews it and imports it.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.cases.models import Case, CaseEvent
from cityops.categories.models import Category
from cityops.errors import InvalidInput, NotFound
from cityops.geo import service as geo_service
from cityops.geo.levels import LEVEL_ORDER, AreaLevel
from cityops.history.catalogue import ORIGIN
from cityops.org import service as org_service
from cityops.org.responsibility import CSV_COLUMNS

BY = ("department", "queue")


@dataclass(frozen=True)
class Sighting:
    """One imported case, as learning sees it."""

    category_code: str
    area_path: str | None
    lead: str | None
    """The department code (or the queue) the source names."""


@dataclass(frozen=True)
class Proposal:
    category_code: str
    area_code: str
    level: str
    lead: str
    support: int
    cases: int
    runner_up: str | None = None

    @property
    def share(self) -> float:
        return self.support / self.cases

    @property
    def note(self) -> str:
        second = f"; next {self.runner_up}" if self.runner_up else ""
        return f"learnt from history: {self.support} of {self.cases} cases ({self.share:.0%}){second}"


@dataclass
class Proposals:
    cells: list[Proposal] = field(default_factory=list)
    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def _top(counter: Counter[str]) -> tuple[str, int, str | None]:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))  # a tie goes to the first code
    return ranked[0][0], ranked[0][1], ranked[1][0] if len(ranked) > 1 else None


def propose(sightings: Iterable[Sighting], *, level: AreaLevel, min_support: int = 5, min_share: float = 0.5,
            compact: bool = True, serves: Mapping[str, str] | None = None) -> Proposals:
    """The cells history supports (pure).

    With ``compact``, areas are considered from the city down to ``level``: an area gets a cell when
    its majority lead differs from the cell above it (none at first), is strong enough, and serves the
    area; otherwise what is above covers it. Without it, every area at ``level`` that is strong enough.
    ``serves`` maps a lead to the path of the area it serves (the matrix allows a department cells at
    that area and below); a lead not in it may serve anywhere."""
    result = Proposals()
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for sighting in sightings:
        result.read += 1
        if sighting.lead is None:
            result.skipped["no_department"] += 1
            continue
        if not sighting.area_path:
            result.skipped["no_area"] += 1
            continue
        codes = sighting.area_path.strip("/").split("/")
        if len(codes) <= level.rank:
            result.skipped[f"no_{level.value}"] += 1  # in a gap between the level's areas
            if not compact:
                continue
        for depth in range(min(len(codes) - 1, level.rank) + 1) if compact else (level.rank,):
            counts[(sighting.category_code, "/" + "/".join(codes[:depth + 1]) + "/")][sighting.lead] += 1
    placed: dict[tuple[str, str], str] = {}
    for category, path in sorted(counts, key=lambda key: (key[0], key[1].count("/"), key[1])):
        counter = counts[(category, path)]
        lead, support, runner_up = _top(counter)
        above = next((placed[(category, p)] for p in _ancestors(path) if (category, p) in placed), None)
        if compact and lead == above:
            continue
        if support < min_support:
            result.skipped["too_few_cases"] += 1
        elif support / sum(counter.values()) < min_share:
            result.skipped["no_clear_majority"] += 1
        elif serves is not None and lead in serves and not path.startswith(serves[lead]):
            result.skipped["lead_does_not_serve_area"] += 1
        else:
            placed[(category, path)] = lead
            depth = path.count("/") - 2
            result.cells.append(Proposal(category, path.strip("/").split("/")[-1], LEVEL_ORDER[depth].value, lead,
                                         support, sum(counter.values()), runner_up))
    return result


def _ancestors(path: str) -> list[str]:
    """``/a/b/c/`` → ``/a/b/``, ``/a/``: nearest first."""
    codes = path.strip("/").split("/")
    return ["/" + "/".join(codes[:n]) + "/" for n in range(len(codes) - 1, 0, -1)]


def sightings(session: Session, *, by: str = "department", source: str | None = None) -> Iterator[Sighting]:
    """Imported cases from the store: their category, place, and what their history names (read
    straight from the timeline's registration entries, as the performance figures are)."""
    if by not in BY:
        raise InvalidInput(f"by must be one of {', '.join(BY)}", field="by")
    key = "department_code" if by == "department" else "queue"
    query = (select(Category.code, Case.area_path, Case.area_id, CaseEvent.data)
             .join(CaseEvent, CaseEvent.case_id == Case.id).join(Category, Case.category_id == Category.id)
             .where(CaseEvent.action == "register").order_by(Case.id).execution_options(yield_per=2000))
    for code, path, area_id, data in session.execute(query):
        history = (data or {}).get("history")
        if not history or (source is not None and history.get("source") != source):
            continue
        yield Sighting(category_code=code, area_path=path if area_id is not None else None, lead=history.get(key))


def matrix_csv(cells: Iterable[Proposal]) -> str:
    """The cells in the matrix CSV format of ``org.responsibility`` (its ``import_csv`` reads it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for cell in cells:
        writer.writerow([cell.category_code, cell.area_code, cell.lead, "", "parallel", cell.note])
    return out.getvalue()


def department_areas(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Code → path of the area each known, active department among ``codes`` serves."""
    served = {}
    for code in set(codes):
        try:
            department = org_service.get_department(session, code=code)
        except NotFound:
            continue
        if department.active:
            served[code] = geo_service.get_area_by_id(session, area_id=department.area_id).path
    return served


def create_departments(session: Session, codes: Iterable[str], *, city_codes: Iterable[str]) -> list[str]:
    """Departments for ``codes`` at the history's city (only one city may be in play)."""
    cities = sorted(set(city_codes))
    if len(cities) != 1:
        raise InvalidInput(f"the history spans {len(cities)} cities; create its departments by hand",
                           field="create_departments")
    city = geo_service.get_area(session, code=cities[0])
    for code in sorted(set(codes)):
        org_service.create_department(session, code=code, name=code, level=city.level, area_code=city.code,
                                      kind="imported", origin=ORIGIN)
    return sorted(set(codes))
