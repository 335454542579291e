"""HTTP API of the work calendar: read by every member of staff, edited by city administrators."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Response

from cityops.calendar import service
from cityops.calendar.schemas import DayIn, DayOut, YearOut
from cityops.calendar.workcalendar import MAX_YEAR, MIN_YEAR
from cityops.deps import AppSettings, DbSession, Reader, requires
from cityops.errors import PermissionDenied
from cityops.geo.levels import AreaLevel
from cityops.org.access import Principal
from cityops.org.roles import Permission

router = APIRouter(prefix="/api/v1/calendar", tags=["work calendar"])
CalendarManager = Annotated[Principal, requires(Permission.manage_calendar)]
Year = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR)]


def _city_level(manager: Principal) -> None:
    # One calendar serves the whole city, so only a city-level administrator changes it.
    if manager.area_level != AreaLevel.city:
        raise PermissionDenied("only a city-level administrator edits the work calendar")


@router.get("/{year}", response_model=YearOut, summary="A year's working days, holidays and coverage")
def get_year(session: DbSession, settings: AppSettings, _: Reader, year: Year) -> YearOut:
    calendar = service.load_calendar(session, settings=settings)
    coverage, working_days, days = service.year_summary(calendar, year=year)
    return YearOut(year=year, coverage=coverage, working_days=working_days,
                   business_hours=list(settings.business_hours), timezone=settings.timezone,
                   days=[DayOut(day=d.day, working=d.working, name=d.name, source=d.source, holiday=d.holiday)
                         for d in days])


@router.put("/days/{day}", response_model=DayOut, summary="Set a date as a working day or a day off")
def set_day(session: DbSession, manager: CalendarManager, day: date, body: DayIn) -> DayOut:
    """For a year the holiday library does not know yet, enter the State Council's notice here;
    an override wins over the library."""
    _city_level(manager)
    row = service.set_day(session, day=day, working=body.working, name=body.name, actor=manager)
    return DayOut(day=row.day, working=row.working, name=row.name, source="override")


@router.delete("/days/{day}", status_code=204, summary="Remove an override")
def remove_day(session: DbSession, manager: CalendarManager, day: date) -> Response:
    _city_level(manager)
    service.remove_day(session, day=day)
    return Response(status_code=204)
