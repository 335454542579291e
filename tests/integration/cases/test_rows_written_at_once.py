"""Rows written with the driver's executemany (``cityops.bulk``) rather than as ORM objects — a new
case's timeline, deadlines, assignments and announcements, and the case itself — read back exactly as
the ORM would have written them, on both stores: every column's default filled in, times and JSON as
the ORM keeps them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.bulk import collecting_rows, insert_values, new_row, with_defaults
from cityops.cases import service
from cityops.cases.models import Case, CaseAssignment, CaseDeadline
from cityops.outbox import OutboxEvent

AT = datetime(2026, 11, 15, 4, 30, 0, 123456, tzinfo=UTC)


def test_defaults_are_filled_as_an_insert_would_fill_them() -> None:
    before = datetime.now(UTC)
    values = with_defaults(Case.__table__, {"title": "井盖缺失"})
    assert "id" not in values  # the store draws it
    assert (values["priority"], values["report_count"], values["origin"], values["description"]) == (0, 1, "api", "")
    assert values["closed_at"] is None and values["category_id"] is None
    assert before <= values["created_at"] <= datetime.now(UTC)
    assert with_defaults(OutboxEvent.__table__, {})["payload"] == {}


def test_outside_a_collection_a_new_row_is_an_orm_object_in_the_session(session: Session) -> None:
    row = new_row(session, OutboxEvent, topic="case.reported", area_path="/990000/", payload={"a": 1})
    assert isinstance(row, OutboxEvent) and row in session.new


def test_inside_a_collection_new_rows_are_collected_and_the_session_holds_none(session: Session) -> None:
    with collecting_rows(session) as collected:
        row = new_row(session, OutboxEvent, topic="case.reported", area_path="/990000/")
        row.payload = {"changed": True}  # later moves change a collected row as they would an ORM object
    assert not session.new and collected[OutboxEvent] == [row]
    assert vars(row)["payload"] == {"changed": True} and vars(row)["fanned_out_at"] is None
    assert new_row(session, OutboxEvent, topic="x", area_path="/") in session.new  # collecting has ended


def test_rows_written_at_once_read_back_as_the_orm_writes_them(session: Session) -> None:
    data = {"lead": "D1", "score": 0.8125, "名称": "市容", 7: "a key that is not text"}
    orm = OutboxEvent(topic="orm", area_path="/990000/", payload=data, created_at=AT)
    session.add(orm)
    session.flush()
    insert_values(session.connection(), OutboxEvent.__table__, [
        with_defaults(OutboxEvent.__table__, {"topic": "bulk", "area_path": "/990000/", "payload": data,
                                              "created_at": AT})])
    session.expire_all()
    written = select(OutboxEvent).where(OutboxEvent.topic.in_(["orm", "bulk"]))
    rows = {row.topic: row for row in session.scalars(written)}
    assert rows["bulk"].payload == rows["orm"].payload == {"lead": "D1", "score": 0.8125, "名称": "市容",
                                                           "7": "a key that is not text"}
    assert rows["bulk"].created_at == rows["orm"].created_at == AT
    assert rows["bulk"].fanned_out_at is None


def test_a_case_case_reads_back_as_it_was_written(case: Case, session: Session) -> None:
    expected = {column.key: getattr(case, column.key) for column in Case.__table__.columns}
    session.expunge_all()
    stored = session.get(Case, expected["id"])
    assert {column.key: getattr(stored, column.key) for column in Case.__table__.columns} == expected
    assert stored.created_at is not None and stored.report_count == 1 and stored.priority == 0
    timeline = service.timeline(session, case=stored)
    assert [(e.version, e.action, e.case_id) for e in timeline] == [(1, "intake", stored.id)]
    assert timeline[0].data == {"channel": "hotline_12345"} and timeline[0].attachments == []
    steps = session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == stored.id)).all()
    assert [(d.step, d.met_at, d.overdue_at) for d in steps] == [("register", None, None)]
    assert session.scalars(select(CaseAssignment).where(CaseAssignment.case_id == stored.id)).all() == []
    outbox = session.scalars(select(OutboxEvent).where(OutboxEvent.case_id == stored.id)).all()
    assert [(e.topic, e.payload["status"], e.created_at) for e in outbox] == [
        ("case.reported", "reported", timeline[0].at)]


def test_a_case_case_is_in_the_session_as_if_read_and_its_changes_are_written(case: Case,
                                                                                   session: Session) -> None:
    assert case in session and case not in session.new and not session.dirty
    case.priority = 3
    session.flush()
    session.expunge_all()
    assert session.get(Case, case.id).priority == 3
