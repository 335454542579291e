"""Importing history through the closed loop, on SQLite and PostgreSQL: timelines the lifecycle
accepts, broken rows in the reject file with their reasons, unlocated rows kept but never routed by
place, duplicates flagged against what was open at the time, agreement with the source's own areas,
and re-imports that add nothing twice."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.cases import service as cases_service
from cityops.cases.models import Case, CaseDeadline
from cityops.history import catalogue
from cityops.history.importer import write_rejects
from cityops.outbox import OutboxEvent
from tests.integration.history.conftest import IN_D2, IN_S1, IN_S2, MAPPING, Importer, export

R1 = {"id": "R1", "opened": "2025-03-03 09:00", "closed": "2025-03-04 10:00", "address": "1 Main Rd",
      "text": "loud music at night", "resolution": "warned the owner", **IN_S1}
R2 = {"id": "R2", "opened": "2025-03-03 10:00", "closed": "2025-03-05 10:00", "text": "loud music at night", **IN_S1}
R3 = {"id": "R3", "opened": "2025-03-06 09:00", "status": "Open", "text": "loud music at night", **IN_S1}
BAD_DATE = {"id": "R4", "opened": "03/03/2025", **IN_S1}
ZERO = {"id": "R5", "opened": "2025-03-03 11:00", "closed": "2025-03-03 12:00", "lon": "0", "lat": "0",
        "district": "990101"}
NO_CATEGORY = {"id": "R6", "type": "", "opened": "2025-03-03 11:00", **IN_S1}
NEWLINES = {"id": "R7", "opened": "2025-03-03 12:00", "closed": "2025-03-03 15:00",
            "text": "first line\nsecond line, with a comma", **IN_S2}
PLACEHOLDER = {"id": "R8", "opened": "2025-03-03 13:00", "closed": "2025-03-04 13:00", "agency": "ZZ",
               "lon": "121.35", "lat": "31.15", "district": "990102", "street": "99010202"}
UNKNOWN_AGENCY = {"id": "R9", "opened": "2025-03-03 14:00", "closed": "2025-03-03 18:00", "agency": "ZZ",
                  **IN_S1, "district": "990102"}  # the source's district is wrong: the point lies in 990101
BACKWARDS = {"id": "R10", "opened": "2025-03-03 09:00", "closed": "2025-03-02 09:00", **IN_S1}
FILE = export(R1, R2, R3, BAD_DATE, ZERO, NO_CATEGORY, NEWLINES, PLACEHOLDER, UNKNOWN_AGENCY, BACKWARDS)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def case_of(session: Session, external_id: str) -> Case:
    return session.scalar(select(Case).where(Case.external_id == external_id))


def case_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Case))


def moves(session: Session, case: Case) -> list[tuple[str, str, datetime]]:
    return [(e.action, e.to_status, e.at) for e in cases_service.timeline(session, case=case)]


def test_the_summary_counts_what_happened(run: Importer) -> None:
    summary = run(FILE)
    line = summary.line()
    assert summary.error is None
    assert {k: line[k] for k in ("imported", "rejected", "duplicates_flagged", "rows", "already_imported",
                                 "dispatched", "closed", "categories_created")} == {
        "imported": 7, "rejected": 3, "duplicates_flagged": 2, "rows": 10, "already_imported": 0,
        "dispatched": 6, "closed": 6, "categories_created": 2}
    assert line["unlocated"] == {"placeholder": 1, "zero_point": 1}
    assert line["unknown_departments"] == {"ZZ": 2}
    assert list(line)[:6] == ["imported", "rejected", "seconds", "duplicates_flagged", "area.district", "area.street"]


def test_a_closed_work_order_has_its_whole_timeline(run: Importer, city: Session) -> None:
    run(FILE)
    case = case_of(city, "R1")
    opened, closed = utc(2025, 3, 3, 1, 0), utc(2025, 3, 4, 2, 0)
    assert moves(city, case) == [("intake", "reported", opened), ("register", "registered", opened),
                                 ("dispatch", "dispatched", opened), ("acknowledge", "in_progress", opened),
                                 ("report", "handled", closed), ("close", "closed", closed)]
    events = cases_service.timeline(city, case=case)
    assert events[1].data["history"] == {"source": "Test311", "row": 2, "category": "Noise", "department": "D1",
                                         "department_code": "D1", "channel": "phone", "status": "Closed"}
    assert events[2].data["lead"] == "D1"
    assert events[2].data["routed_lead"] == "S1"  # the matrix alone would have sent it to the street
    assert (events[4].actor_role, events[4].actor_department, events[4].reason) == ("handler", "D1",
                                                                                     "warned the owner")
    assert (events[5].actor_kind, events[5].reason) == ("system", "imported")
    assert events[5].data == {"source_status": "Closed", "resolution": "warned the owner"}
    assert (case.status, case.opened_at, case.closed_at, case.channel) == ("closed", opened, closed, "hotline_12345")
    assert cases_service.state_of(city, case=case).status == "closed"  # the lifecycle replays it
    steps = city.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id)).all()
    assert {d.step for d in steps} == {"register", "dispatch", "acknowledge", "handle", "verify"}
    assert all(d.met_at is not None for d in steps)


def test_an_open_work_order_stays_with_its_department(run: Importer, city: Session) -> None:
    run(FILE)
    case = case_of(city, "R3")
    assert case.status == "dispatched" and case.closed_at is None
    assert [m[0] for m in moves(city, case)] == ["intake", "register", "dispatch"]


def test_broken_rows_go_to_the_reject_file_with_their_reasons(run: Importer, city: Session) -> None:
    summary = run(FILE)
    out = io.StringIO()
    assert write_rejects(FILE, MAPPING, summary.rejects, out) == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["reject_row"], r["reject_line"], r["reject_field"], r["id"]) for r in rows] == [
        ("5", "5", "opened_at", "R4"), ("7", "7", "category", "R6"), ("11", "12", "closed_at", "R10")]
    assert "matches none of the formats" in rows[0]["reject_reason"]
    assert "before it was opened" in rows[2]["reject_reason"]
    assert rows[0]["opened"] == "03/03/2025"  # the row as the file has it, to correct and import again
    assert case_of(city, "R4") is None and case_of(city, "R6") is None


def test_line_breaks_in_a_cell_are_kept(run: Importer, city: Session) -> None:
    run(FILE)
    assert case_of(city, "R7").description == "first line\nsecond line, with a comma"


def test_zero_coordinates_and_placeholders_are_kept_but_never_routed_by_place(run: Importer, city: Session) -> None:
    run(FILE)
    zero, placeholder = case_of(city, "R5"), case_of(city, "R8")
    assert (zero.lon, zero.area_id, zero.area_path) == (None, None, "/990000/")
    assert zero.lead_department_id is not None  # the source's own department handled it
    assert placeholder.placeholder.startswith("Test311 default point")
    assert (placeholder.lon, placeholder.area_id, placeholder.area_path) == (121.35, None, "/990000/")
    # Its department is unknown and its place is no place: nobody is dispatched; the centre closes it.
    assert [m[0] for m in moves(city, placeholder)] == ["intake", "register", "close"]


def test_an_unknown_department_leaves_the_case_to_the_matrix(run: Importer, city: Session) -> None:
    run(FILE)
    events = cases_service.timeline(city, case=case_of(city, "R9"))
    assert events[2].action == "dispatch" and events[2].data["lead"] == "S1"
    assert events[2].data["source_department"] == "ZZ"


def test_duplicates_are_flagged_against_what_was_open_at_the_time(run: Importer, city: Session) -> None:
    from cityops.cases import dedup

    run(FILE)
    flagged = {external_id: [s.candidate_id for s in dedup.suggestions(city, case=case_of(city, external_id))]
               for external_id in ("R1", "R2", "R3", "R9")}
    r1, r2 = case_of(city, "R1").id, case_of(city, "R2").id
    assert flagged["R1"] == [] and flagged["R2"] == [r1]
    assert sorted(flagged["R9"]) == sorted([r1, r2])
    assert flagged["R3"] == []  # R1 and R2 were closed by then
    assert case_of(city, "R2").status == "closed"  # flagged, never merged: each was handled


def test_agreement_with_the_source_areas_is_measured(run: Importer) -> None:
    summary = run(FILE)
    line = summary.line()
    assert (line["area.district"], line["area.street"]) == (0.8, 1.0)
    assert line["compare_counts"]["area.district"] == {"compared": 5, "agree": 4, "platform_none": 0,
                                                       "no_location": 2, "no_source_value": 0, "chain_differs": 0}
    assert line["compare_counts"]["area.street"]["no_source_value"] == 1


def test_importing_the_same_file_again_adds_nothing(run: Importer, city: Session) -> None:
    first = run(FILE)
    cases, events = case_count(city), len(cases_service.timeline(city, case=case_of(city, "R1")))
    again = run(FILE)
    assert (again.imported, again.already_imported, again.rejected, again.closed) == (0, 7, 3, 0)
    assert case_count(city) == cases
    assert len(cases_service.timeline(city, case=case_of(city, "R1"))) == events
    assert [a.share for a in again.agreements] == [a.share for a in first.agreements]


def test_an_external_id_is_known_within_its_channel(run: Importer, city: Session) -> None:
    """A source may number each channel's work orders on its own: the same id through another channel
    is another work order, and each is known again on the next import."""
    run(export(R1 | {"via": "patrol"}))
    summary = run(export(R1, R2 | {"via": "patrol"}))
    assert (summary.imported, summary.already_imported) == (2, 0)
    again = run(export(R1, R2 | {"via": "patrol"}, R1 | {"id": "R11", "via": "patrol"}))
    assert (again.imported, again.already_imported) == (1, 2)
    assert sorted(city.scalars(select(Case.channel).where(Case.external_id == "R1"))) == ["grid_patrol",
                                                                                          "hotline_12345"]


def test_a_newer_export_closes_what_has_closed_since(run: Importer, city: Session) -> None:
    run(export(R1, R3))
    assert case_of(city, "R3").status == "dispatched"
    summary = run(export(R1, R3 | {"closed": "2025-03-07 09:00", "status": "Closed"}))
    assert (summary.imported, summary.closed) == (0, 1)
    case = case_of(city, "R3")
    assert (case.status, case.closed_at) == ("closed", utc(2025, 3, 7, 1, 0))
    assert [m[0] for m in moves(city, case)][-3:] == ["acknowledge", "report", "close"]


def test_a_row_the_platform_refuses_is_rejected_alone(run: Importer, city: Session) -> None:
    summary = run(export(R1, {"id": "FAR", "opened": "2025-03-03 09:30", **IN_D2}, R2), area_code="990101",
                  batch_size=10)
    assert (summary.imported, summary.rejected) == (2, 1)
    [reject] = summary.rejects
    assert (reject.row, reject.field) == (3, "lon") and "outside the history's area" in reject.reason
    assert case_of(city, "FAR") is None and case_of(city, "R2") is not None


def test_time_order_not_file_order(run: Importer, city: Session) -> None:
    run(export(R3, R2, R1))
    assert case_of(city, "R1").id < case_of(city, "R2").id < case_of(city, "R3").id


def test_every_imported_timeline_replays_to_its_case_and_history_is_not_announced(run: Importer,
                                                                                   city: Session) -> None:
    run(FILE)
    cases = city.scalars(select(Case)).all()
    assert len(cases) == 7
    for case in cases:
        state = cases_service.state_of(city, case=case)
        assert (state.status, state.version) == (case.status, case.version)
        held = {(a.department_code, a.role, a.status) for a in cases_service.assignments(city, case=case)}
        assert held == {(a.department_code, a.role.value, a.status.value) for a in state.assignments}
        open_steps = city.scalar(select(func.count()).select_from(CaseDeadline).where(
            CaseDeadline.case_id == case.id, CaseDeadline.met_at.is_(None)))
        assert open_steps == (0 if case.status == "closed" else 1)
    assert city.scalar(select(func.count()).select_from(OutboxEvent)) == 0


def test_a_row_with_an_address_and_no_point_is_placed_by_the_names_in_it(run: Importer, city: Session) -> None:
    summary = run(export({"id": "A1", "opened": "2025-03-03 09:00", "address": "测试1区第1街道幸福路5号"},
                         {"id": "A2", "opened": "2025-03-03 10:00", "address": "幸福路7号"}))
    assert summary.imported == 2 and summary.unlocated == {"no_coordinates": 1}
    placed, unplaced = case_of(city, "A1"), case_of(city, "A2")
    assert placed.area_path.endswith("/99010101/") and placed.lon is None
    assert cases_service.timeline(city, case=placed)[0].data["located_by_address"]["named"] == ["测试1区",
                                                                                              "测试1区第1街道"]
    assert unplaced.area_id is None


def test_imported_cases_are_found_by_their_words(run: Importer, city: Session) -> None:
    """The bulk write keeps the search index as a case taken in one by one does (SQLite: its trigger)."""
    run(FILE)
    viewer = catalogue.receiver_for(catalogue.history_area(city, area_code=None), name="test")
    found = cases_service.list_cases(city, viewer=viewer, text_query="second line")
    assert [c.external_id for c in found] == ["R7"]
    loud = cases_service.list_cases(city, viewer=viewer, text_query="loud music")
    assert sorted(c.external_id for c in loud) == ["R1", "R2", "R3"]
