"""Use cases of the calendar: the store's overrides on top of the library, and the settings'
business hours and time zone, as one ``WorkCalendar``."""

from __future__ import annotations

import calendar as gregorian
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops import stamps
from cityops.calendar.models import CalendarDay
from cityops.calendar.workcalendar import Coverage, DayInfo, DayOverride, WorkCalendar
from cityops.config import Settings
from cityops.errors import NotFound
from cityops.org.access import Principal

CALENDAR_STAMP = "calendar"
"""Moved by triggers on every change to ``calendar_days`` (migration 0018)."""


def load_calendar(session: Session, *, settings: Settings) -> WorkCalendar:
    overrides = [DayOverride(day=row.day, working=row.working, name=row.name)
                 for row in session.scalars(select(CalendarDay))]
    return WorkCalendar(overrides=overrides, business_hours=settings.business_hours,
                        timezone=settings.timezone)


class CalendarCache:
    """One calendar per process, rebuilt only when the overrides change: a calendar caches each
    year's working days, which deadline arithmetic would otherwise recompute on every request."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._key: tuple | None = None
        self._calendar: WorkCalendar | None = None

    def get(self, session: Session) -> WorkCalendar:
        stamp = stamps.current(session).get(CALENDAR_STAMP)
        key = (stamp,) if stamp is not None else tuple(  # a store from before the stamp's migration
            session.execute(select(func.count(), func.max(CalendarDay.updated_at))).one())
        if self._calendar is None or key != self._key:
            self._calendar, self._key = load_calendar(session, settings=self.settings), key
        return self._calendar


def set_day(session: Session, *, day: date, working: bool, name: str, actor: Principal | None) -> CalendarDay:
    DayOverride(day=day, working=working, name=name)  # validates before anything is written
    row = session.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day)
        session.add(row)
    row.working, row.name = working, name.strip()
    row.updated_by_id = actor.id if actor and actor.kind == "user" else None
    session.flush()
    return row


def remove_day(session: Session, *, day: date) -> None:
    """Drop an override: the date goes back to the library or the weekday rule."""
    row = session.get(CalendarDay, day)
    if row is None:
        raise NotFound(f"{day.isoformat()} has no override", code="unknown_calendar_day", field="day")
    session.delete(row)
    session.flush()


def notable_days(calendar: WorkCalendar, *, year: int) -> list[DayInfo]:
    """The year's dates that are not ordinary weekdays or weekends: holidays, make-up working days
    and overrides."""
    days = []
    for month in range(1, 13):
        for day_number in range(1, gregorian.monthrange(year, month)[1] + 1):
            info = calendar.describe(date(year, month, day_number))
            ordinary = info.working == (info.day.weekday() < 5) and info.name is None
            if not ordinary:
                days.append(info)
    return days


def year_summary(calendar: WorkCalendar, *, year: int) -> tuple[Coverage, int, list[DayInfo]]:
    return calendar.coverage(year), len(calendar.working_days(year)), notable_days(calendar, year=year)
