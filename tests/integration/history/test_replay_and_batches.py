"""Batches are written whole or not at all, replay runs the live pipeline, departments are created
only when asked, and a matrix learnt from the imported history is one the matrix import accepts and
routing then follows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from itertools import count

import pytest
from shapely.geometry import box
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.cases.models import Case
from cityops.categories import service as categories_service
from cityops.config import Settings
from cityops.errors import InvalidInput
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.history.importer import BatchScope, import_history, savepoints
from cityops.history.learn import department_areas, matrix_csv, propose, sightings
from cityops.history.mapping import CompareSpec
from cityops.org import responsibility
from cityops.org import service as org_service
from tests.integration.history.conftest import IN_S1, IN_S2, MAPPING, Importer, export

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def rows(n: int, prefix: str = "N", **cells: str) -> list[dict[str, str]]:
    return [{"id": f"{prefix}{i}", "opened": f"2025-03-{i + 1:02d} 09:00", "closed": f"2025-03-{i + 1:02d} 17:00",
             **IN_S1, **cells} for i in range(n)]


def failing_batch(session: Session, failing: int) -> BatchScope:
    """Savepoints, but the ``failing``-th scope (0: the preparation) breaks as it is written."""
    calls = count()

    @contextmanager
    def scope() -> Iterator[Session]:
        number = next(calls)
        with session.begin_nested():
            yield session
            if number == failing:
                raise OSError("disk full")
    return scope


def cases_in(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Case))


def test_a_failing_batch_is_rolled_back_whole_and_the_next_run_carries_on(run: Importer, city: Session) -> None:
    data = export(*rows(6))
    summary = run(data, scope=failing_batch(city, 2), batch_size=2)
    assert summary.error == "OSError: disk full" and summary.stopped_at_row == 4
    assert summary.imported == 2 and cases_in(city) == 2
    assert summary.line()["stopped_at_row"] == 4
    again = run(data, batch_size=2)
    # The first run wrote N0 and N1, closed as the file records; the second writes the other four.
    assert (again.error, again.already_imported, again.imported, again.closed) == (None, 2, 4, 4)
    assert cases_in(city) == 6
    assert {c.status for c in city.scalars(select(Case))} == {"closed"}


def test_replay_runs_the_live_pipeline_with_the_clock_moved_to_now(run: Importer, city: Session) -> None:
    patrol = {"via": "patrol", "text": "blocked drain", "agency": "ZZ"}
    data = export({"id": "P1", "opened": "2025-03-03 09:00", "closed": "2025-03-03 10:00", **IN_S1, **patrol},
                  {"id": "P2", "opened": "2025-03-03 09:20", **IN_S1, **patrol},
                  {"id": "H1", "opened": "2025-03-03 09:40", "via": "phone", **IN_S2})
    summary = run(data, replay=True, now=NOW)
    assert (summary.imported, summary.dispatched, summary.merged, summary.closed) == (2 + 1, 1, 1, 0)
    first, second, call = (city.scalar(select(Case).where(Case.external_id == x)) for x in ("P1", "P2", "H1"))
    # A trusted channel is registered and routed by the matrix (the street's fallback); the second
    # report of the same drain merges into it; a hotline call waits for an operator. Nothing is closed.
    assert (first.status, second.status, call.status) == ("dispatched", "merged", "reported")
    assert second.duplicate_of_id == first.id and first.report_count == 2
    assert call.opened_at == NOW and first.opened_at == datetime(2025, 6, 1, 11, 20, tzinfo=UTC)
    last = datetime(2025, 3, 3, 1, 40, tzinfo=UTC)  # H1, 09:40 in Shanghai
    assert summary.replay_shift_days == round((NOW - last).total_seconds() / 86400, 3)


def test_departments_are_created_only_when_asked(run: Importer, city: Session) -> None:
    data = export(*rows(2, agency="WATER"))
    assert run(data).unknown_departments == {"WATER": 2}
    summary = run(export(*rows(2, "W", agency="WATER")), create_departments=True)
    assert summary.departments_created == ["WATER"]
    department = org_service.get_department(city, code="WATER")
    assert (department.kind, department.level, department.origin) == ("imported", "city", "history")


def test_comparing_an_area_level_the_store_lacks_is_refused_before_anything_is_written(
        session: Session, settings: Settings) -> None:
    city = geo_service.create_area(session, code="880000", name="C", level=AreaLevel.city, parent=None,
                                   geometry=box(121.0, 31.0, 121.4, 31.2), origin="test")
    geo_service.create_area(session, code="880101", name="D", level=AreaLevel.district, parent=city,
                            geometry=box(121.0, 31.0, 121.2, 31.2), origin="test")
    with pytest.raises(InvalidInput) as refused:
        import_history(scope=savepoints(session), source=export(*rows(1)), mapping=MAPPING, settings=settings)
    assert refused.value.field == "compare.area.street" and "no street areas" in refused.value.detail
    assert cases_in(session) == 0 and categories_service.category_ids(session, codes=["T311"]) == {}


def test_a_learnt_matrix_is_accepted_by_the_matrix_import_and_routes_as_history_did(
        run: Importer, city: Session) -> None:
    history = rows(6) + rows(2, "X", agency="S1") + rows(5, "B", **IN_S2)
    run(export(*history))
    found = list(sightings(city))
    learnt = propose(found, level=AreaLevel.street, min_support=2,
                     serves=department_areas(city, (s.lead for s in found)))
    # D1 leads city-wide, but serves district 990101 only: its cell goes there, where the matrix allows it.
    assert {(c.category_code, c.area_code, c.level, c.lead, c.support, c.cases) for c in learnt.cells} == {
        ("T311-NOISE", "990101", "district", "D1", 11, 13)}
    assert learnt.skipped == {"lead_does_not_serve_area": 1}
    report = responsibility.import_csv(city, data=matrix_csv(learnt.cells))
    assert report.created == 1
    assert responsibility.route_case(city, category_code="T311-NOISE", area_code="99010102").lead == "D1"
    again = run(export(*history), mapping=replace(MAPPING, compare=(CompareSpec("route.lead", "agency"),)))
    assert again.line()["route.lead"] == round(11 / 13, 4)
    assert again.line()["compare_counts"]["route.lead"] == {"compared": 13, "agree": 11, "platform_none": 0,
                                                           "no_location": 0, "no_source_value": 0}
