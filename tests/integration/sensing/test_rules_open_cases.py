"""A rule with ``open_case_from`` opens a case through the closed loop when its warning reaches that
level, on SQLite and PostgreSQL: on ingest and on the worker's rule clock, exactly once per warning (a
later level change does not open a second), linked both ways, routed and dispatched as any case; a rule
without it opens none; an opening that fails is logged, written into the warning's history and changes
nothing else, and is tried again after a back-off that doubles per failure in a row."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cityops import worker
from cityops.calendar.service import CalendarCache
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases.models import Case
from cityops.categories import service as categories_service
from cityops.config import Settings
from cityops.db import unit_of_work
from cityops.errors import Conflict, ServiceUnavailable
from cityops.geo.models import Area
from cityops.notify import service as notify
from cityops.notify.models import Notification
from cityops.org import responsibility
from cityops.org import service as org_service
from cityops.org.models import User
from cityops.org.responsibility import CellSpec
from cityops.outbox import OutboxEvent
from cityops.sensing import alerting, service
from cityops.sensing.models import Reading, WarningEntryRow, WarningRow
from tests.conftest import REPO
from tests.factories import make_user
from tests.integration.sensing.test_alerting import make_rule, warnings_of
from tests.integration.sensing.world import NOW, STREET, SensedWorld, make_world, reading

WATERLOGGING = "E0111"
PROBLEM_ZH = json.loads((REPO / "web" / "src" / "locales" / "zh-CN.json").read_text(encoding="utf-8"))["problem"]
DISTRICT = STREET[:6]


def make_loop(session: Session, *, with_category: bool = True) -> SensedWorld:
    """The sensed world with the waterlogging category routed to the district's water department."""
    world = make_world(session)
    org_service.create_department(session, code="water-990101", name="测试1区水务局", level="district",
                                  area_code=DISTRICT, kind="water", origin="test")
    org_service.create_department(session, code="street-99010101", name="街道办", level="street", area_code=STREET,
                                  kind="street_office", is_area_fallback=True, origin="test")
    if with_category:
        add_category(session)
    return world


def add_category(session: Session) -> None:
    categories_service.create_category(session, code="E01", name="市容环境", kind="event", origin="test")
    categories_service.create_category(session, code=WATERLOGGING, name="道路积水", kind="event", parent_code="E01",
                                       origin="test")
    responsibility.set_cell(session, spec=CellSpec(category_code=WATERLOGGING, area_code=DISTRICT,
                                                   lead_department_code="water-990101"))


def opening_rule(session: Session, world: SensedWorld, **definition: object) -> int:
    return make_rule(session, world, for_s=0, open_case_from="orange", case_category=WATERLOGGING, **definition)


@pytest.fixture
def intake(settings: Settings) -> alerting.CaseIntake:
    return alerting.CaseIntake.from_settings(settings)


def send(session: Session, world: SensedWorld, intake: alerting.CaseIntake | None, *values: tuple[str, float]) -> None:
    items = [reading("WL-1", f"2026-11-15T{hhmm}:00Z", value) for hhmm, value in values]
    result = service.ingest(session, items=items, caller=world.admin, now=NOW, cases=intake)
    assert result.accepted == len(items), result.rejected


def cases(session: Session) -> list[tuple[str, str | None, str, str]]:
    return [tuple(row) for row in session.execute(
        select(Case.channel, Case.external_id, Case.status, Case.area_path).order_by(Case.id))]


def case_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Case))


def test_a_warning_reaching_the_rules_level_opens_one_case_through_the_closed_loop(
        session: Session, intake: alerting.CaseIntake) -> None:
    world = make_loop(session)
    opening_rule(session, world)
    send(session, world, intake, ("11:00", 3.1))
    assert warnings_of(session) == [("WL-1", "firing", "yellow")]
    assert case_count(session) == 0  # yellow is below the rule's case level
    send(session, world, intake, ("11:01", 3.6))
    warning = session.scalar(select(WarningRow))
    case = session.get(Case, warning.case_id)
    assert (warning.status, warning.level) == ("firing", "orange")  # it goes on following the readings
    assert (case.channel, case.external_id, case.status) == ("iot_warning", f"warning-{warning.id}", "dispatched")
    assert case.area_path.startswith(warning.area_path) and case.category_id is not None
    # told in words: the device, the rule's name and the level; the reading with its device type's unit
    assert case.title == "WL-1：水位超限橙色预警"
    assert case.description == "水位超限橙色预警（规则 wl-high）：设备 WL-1（WL-1），water_level 读数 3.6m"
    assert session.scalars(select(WarningEntryRow.action).order_by(WarningEntryRow.version)).all() == [
        "fire", "change_level", "open_case"]
    assert session.scalar(select(WarningEntryRow.case_id).where(WarningEntryRow.action == "open_case")) == case.id


def test_level_changes_do_not_open_a_second_case_and_the_next_warning_gets_its_own(
        session: Session, intake: alerting.CaseIntake) -> None:
    world = make_loop(session)
    opening_rule(session, world)
    send(session, world, intake, ("11:00", 3.6))
    first = session.scalar(select(WarningRow)).case_id
    send(session, world, intake, ("11:01", 4.2), ("11:02", 3.7), ("11:03", 4.5))
    assert warnings_of(session) == [("WL-1", "firing", "red")]
    assert case_count(session) == 1 and session.scalar(select(WarningRow.case_id)) == first
    send(session, world, intake, ("11:04", 4.5))  # a reading that changes nothing opens nothing either
    assert alerting.open_due_cases(session, intake=intake, now=NOW).opened == []
    send(session, world, intake, ("11:05", 2.0))
    assert warnings_of(session) == [("WL-1", "resolved", "red")]
    assert case_count(session) == 1  # the clear resolves the warning; the case runs its course
    send(session, world, intake, ("11:10", 3.9))
    assert warnings_of(session) == [("WL-1", "resolved", "red"), ("WL-1", "firing", "orange")]
    assert case_count(session) == 2
    assert len(set(session.scalars(select(WarningRow.case_id)))) == 2


def test_a_warning_that_clears_within_its_batch_still_gets_its_case(session: Session,
                                                                   intake: alerting.CaseIntake) -> None:
    world = make_loop(session)
    opening_rule(session, world)
    send(session, world, intake, ("11:00", 3.6), ("11:01", 2.0))
    warning = session.scalar(select(WarningRow))
    assert (warning.status, warning.peak_level, warning.closed_at) == ("resolved", "orange", NOW.replace(minute=1,
                                                                                                         hour=11))
    assert session.get(Case, warning.case_id).external_id == f"warning-{warning.id}"
    assert session.scalars(select(WarningEntryRow.action).order_by(WarningEntryRow.version)).all() == [
        "fire", "resolve", "open_case"]


def test_a_rule_without_a_case_level_waits_for_an_operator(session: Session, intake: alerting.CaseIntake) -> None:
    world = make_loop(session)
    make_rule(session, world, for_s=0)
    send(session, world, intake, ("11:00", 4.6))
    assert warnings_of(session) == [("WL-1", "firing", "red")]
    assert case_count(session) == 0
    assert alerting.open_due_cases(session, intake=intake, now=NOW).opened == []
    assert session.scalar(select(WarningRow.case_id)) is None


def test_a_warning_with_its_case_is_not_converted_into_another(session: Session,
                                                              intake: alerting.CaseIntake) -> None:
    world = make_loop(session)
    opening_rule(session, world)
    send(session, world, intake, ("11:00", 3.6))
    row = session.scalar(select(WarningRow))
    operator = org_service.principal_of_user(session, make_user(session, username="street.op", roles=["operator"],
                                                                area_code=STREET))
    with pytest.raises(Conflict) as refused:
        alerting.convert_to_case(session, row=row, viewer=operator, at=NOW, locator=intake.locators.get(session),
                                 calendar=intake.calendars.get(session), policy=intake.policy)
    assert refused.value.code == "has_case"
    assert case_count(session) == 1 and row.status == "firing"


class FailingCalendars:
    """The process's calendar source while its store cannot be read (``failing``), then as usual."""

    def __init__(self, calendars: CalendarCache) -> None:
        self.calendars, self.failing = calendars, True

    def get(self, session: Session) -> WorkCalendar:
        if self.failing:
            raise ServiceUnavailable("the work calendar cannot be read")
        return self.calendars.get(session)


@pytest.fixture
def failing(intake: alerting.CaseIntake) -> tuple[alerting.CaseIntake, FailingCalendars]:
    calendars = FailingCalendars(intake.calendars)
    return dataclasses.replace(intake, calendars=calendars), calendars


def failures(session: Session) -> list[str]:
    return list(session.scalars(select(WarningEntryRow.reason).where(WarningEntryRow.action == "case_not_opened")
                                .order_by(WarningEntryRow.version)))


def test_a_failed_opening_is_logged_keeps_the_warning_and_is_tried_again(
        session: Session, failing: tuple[alerting.CaseIntake, FailingCalendars],
        caplog: pytest.LogCaptureFixture) -> None:
    intake, calendars = failing
    world = make_loop(session)
    opening_rule(session, world)
    with caplog.at_level(logging.ERROR, logger="cityops.sensing.alerting"):
        send(session, world, intake, ("11:00", 3.6))
    assert "could not open a case for warning" in caplog.text and "wl-high" in caplog.text
    assert warnings_of(session) == [("WL-1", "firing", "orange")]
    assert session.scalar(select(func.count()).select_from(Reading)) == 1
    assert case_count(session) == 0 and session.scalar(select(WarningRow.case_id)) is None
    assert session.scalars(select(WarningEntryRow.action).order_by(WarningEntryRow.version)).all() == [
        "fire", "case_not_opened"]
    calendars.failing = False
    retried = alerting.open_due_cases(session, intake=intake, now=NOW + timedelta(minutes=1))
    warning = session.scalar(select(WarningRow))
    assert (retried.opened, retried.failed) == ([warning.id], [])
    assert cases(session) == [("iot_warning", f"warning-{warning.id}", "dispatched", session.get(
        Case, warning.case_id).area_path)]
    assert alerting.open_due_cases(session, intake=intake, now=NOW + timedelta(minutes=2)).opened == []
    assert case_count(session) == 1


def test_a_failed_opening_backs_off_doubling_and_a_success_ends_it(
        session: Session, failing: tuple[alerting.CaseIntake, FailingCalendars],
        caplog: pytest.LogCaptureFixture) -> None:
    intake, calendars = failing
    world = make_loop(session)
    opening_rule(session, world)
    with caplog.at_level(logging.ERROR, logger="cityops.sensing.alerting"):
        send(session, world, intake, ("11:00", 3.6))  # the first failure, at NOW
        warning_id = session.scalar(select(WarningRow.id))
        assert failures(session) == ["case not opened (failure 1 in a row): the work calendar cannot be read; "
                                     "tried again from 2026-11-15T12:01:00+00:00"]
        # within the minute neither ingest nor the clock tries again: no second log line, no entry; the
        # warning still follows its readings
        send(session, world, intake, ("11:01", 4.2))
        waited = alerting.open_due_cases(session, intake=intake, now=NOW + timedelta(seconds=59))
        assert (waited.opened, waited.failed, waited.waiting) == ([], [], [warning_id])
        assert len(caplog.records) == 1 and len(failures(session)) == 1
        second = alerting.open_due_cases(session, intake=intake, now=NOW + timedelta(minutes=1))
        assert (second.failed, second.waiting) == ([warning_id], [])
        assert failures(session)[-1] == ("case not opened (failure 2 in a row): the work calendar cannot be read; "
                                         "tried again from 2026-11-15T12:03:00+00:00")
        # each failure, retries too, keeps its cause for the screens to say (the outbox tells only the first)
        assert session.scalars(select(WarningEntryRow.cause).where(WarningEntryRow.action == "case_not_opened")
                               .order_by(WarningEntryRow.version)).all() == [
            {"code": "unavailable", "values": {}, "failures": 1, "next_attempt_at": "2026-11-15T12:01:00+00:00"},
            {"code": "unavailable", "values": {}, "failures": 2, "next_attempt_at": "2026-11-15T12:03:00+00:00"}]
        # the second back-off is two minutes from the second failure
        assert alerting.open_due_cases(session, intake=intake, now=NOW + timedelta(minutes=2, seconds=59)
                                       ).waiting == [warning_id]
        assert len(caplog.records) == 2
    calendars.failing = False
    opened = alerting.open_due_cases(session, intake=intake, now=NOW + timedelta(minutes=3))
    assert (opened.opened, opened.failed, opened.waiting) == ([warning_id], [], [])
    warning = session.get(WarningRow, warning_id)
    assert session.get(Case, warning.case_id).external_id == f"warning-{warning_id}"
    assert session.scalars(select(WarningEntryRow.action).where(WarningEntryRow.warning_id == warning_id)
                           .order_by(WarningEntryRow.version)).all() == [
        "fire", "case_not_opened", "change_level", "case_not_opened", "open_case"]
    later = alerting.open_due_cases(session, intake=intake, now=NOW + timedelta(hours=2))
    assert (later.opened, later.failed, later.waiting) == ([], [], [])
    assert case_count(session) == 1


def test_the_first_failed_opening_is_told_to_the_people_who_judge_warnings_and_retries_are_not(
        session: Session, failing: tuple[alerting.CaseIntake, FailingCalendars]) -> None:
    intake, _calendars = failing
    world = make_loop(session)
    make_user(session, username="street.op", roles=["operator"], area_code=STREET)
    make_user(session, username="other.op", roles=["operator"], area_code="99010102")
    opening_rule(session, world)
    send(session, world, intake, ("11:00", 3.6))  # fails at NOW
    assert alerting.open_due_cases(session, intake=intake, now=NOW + timedelta(minutes=1)).failed  # fails again
    told = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "warning.case_not_opened")).all()
    assert len(told) == 1
    assert (told[0].payload["cause"], told[0].payload["next_attempt_at"], told[0].payload["rule_name"]) == (
        "the work calendar cannot be read", "2026-11-15T12:01:00+00:00", "水位超限")
    assert (told[0].payload["cause_code"], told[0].payload["cause_values"]) == ("unavailable", {})
    notify.fan_out(session, now=NOW + timedelta(minutes=2))
    area = session.scalar(select(Area.name).join(WarningRow, WarningRow.area_path == Area.path))
    lines = session.scalars(select(Notification.text).join(User, Notification.user_id == User.id).where(
        User.username == "street.op", Notification.topic == "warning.case_not_opened")).all()
    # the reason is not written in the API's English: the line carries its code, which the screens say in
    # Chinese from the one catalogue of problem texts
    assert lines == [f"{area} 水位超限橙色预警 未能自动立案，请研判后转案件：WL-1，读数 3.6m（规则 wl-high）"]
    street_op = session.scalar(select(User.id).where(User.username == "street.op"))
    inbox = notify.inbox(session, user_id=street_op)
    assert {line.topic: inbox.reasons.get(line.event_id) for line in inbox.notifications} == {
        "warning.fired": None,
        "warning.case_not_opened": notify.Reason("unavailable", {}, "the work calendar cannot be read")}
    reason = inbox.reasons[told[0].id]
    assert PROBLEM_ZH[reason.code] == "数据库或消息服务暂时连不上，请稍后重试"
    assert session.scalars(select(Notification.id).join(User, Notification.user_id == User.id).where(
        User.username == "other.op", Notification.topic == "warning.case_not_opened")).all() == []


def test_the_failure_and_its_next_attempt_are_in_the_warnings_history(
        session: Session, failing: tuple[alerting.CaseIntake, FailingCalendars]) -> None:
    intake, _ = failing
    world = make_loop(session)
    opening_rule(session, world)
    send(session, world, intake, ("11:00", 3.6))
    row = session.scalar(select(WarningRow))
    (entry,) = [e for e in alerting.entries_of(session, warning_ids=[row.id])[row.id] if e.action == "case_not_opened"]
    assert (entry.actor_role, entry.from_status, entry.to_status, entry.at, entry.case_id) == (
        "system", "firing", "firing", NOW, None)
    assert (row.status, row.version, row.updated_at) == ("firing", 2, NOW)


def test_a_cleared_warnings_failures_keep_the_time_it_cleared_and_it_is_tried_for_a_day(
        session: Session, failing: tuple[alerting.CaseIntake, FailingCalendars]) -> None:
    intake, _ = failing
    world = make_loop(session)
    opening_rule(session, world)
    send(session, world, intake, ("11:00", 3.6), ("11:01", 2.0))
    row = session.scalar(select(WarningRow))
    cleared_at = NOW.replace(hour=11, minute=1)
    assert (row.status, row.closed_at, row.updated_at, len(failures(session))) == ("resolved", cleared_at, NOW, 1)
    assert alerting.open_due_cases(session, intake=intake, now=NOW + timedelta(hours=1)).failed == [row.id]
    assert row.closed_at == cleared_at and len(failures(session)) == 2
    gone = alerting.open_due_cases(session, intake=intake, now=cleared_at + alerting.CASE_RETRY_WINDOW
                                   + timedelta(seconds=1))
    assert (gone.opened, gone.failed, gone.waiting) == ([], [], [])


def test_without_a_case_intake_at_hand_the_worker_opens_the_case(session: Session,
                                                                 intake: alerting.CaseIntake) -> None:
    world = make_loop(session)
    opening_rule(session, world)
    send(session, world, None, ("11:00", 3.6))
    assert case_count(session) == 0
    assert len(alerting.open_due_cases(session, intake=intake, now=NOW).opened) == 1
    assert case_count(session) == 1


def test_a_silence_on_the_worker_clock_opens_its_case(scratch_store: Engine, settings: Settings) -> None:
    with unit_of_work(scratch_store) as session:
        world = make_loop(session)
        make_rule(session, world, code="wl-silent", kind="no_data", levels=[], for_s=None, open_case_from="red",
                  case_category=WATERLOGGING,
                  silence_levels=[{"level": "yellow", "after_s": 900}, {"level": "red", "after_s": 3600}])
        send(session, world, None, ("11:00", 1.0))
    intake = alerting.CaseIntake.from_settings(settings)
    last = NOW.replace(hour=11, minute=0)

    def tick(minutes: int) -> None:
        assert worker.run_rule_clock(scratch_store, holder="worker-a", now=last + timedelta(minutes=minutes),
                                     cases=intake) is not None

    def seen() -> tuple[list[tuple[str, str, str]], int]:
        with unit_of_work(scratch_store) as session:
            return warnings_of(session), case_count(session)

    tick(16)
    assert seen() == ([("WL-1", "firing", "yellow")], 0)
    tick(61)
    assert seen() == ([("WL-1", "firing", "red")], 1)
    tick(90)
    assert seen() == ([("WL-1", "firing", "red")], 1)
    with unit_of_work(scratch_store) as session:
        assert session.scalars(select(WarningEntryRow.action).order_by(WarningEntryRow.version)).all() == [
            "fire", "change_level", "open_case"]

