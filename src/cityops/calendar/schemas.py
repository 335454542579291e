"""API shapes of the calendar."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from cityops.calendar.workcalendar import Coverage, DaySource


class DayOut(BaseModel):
    day: date
    working: bool
    name: str | None = Field(description="the holiday's or make-up day's Chinese name (春节), or an override's note")
    source: DaySource = Field(description="override, library (the State Council's notices) or weekday_rule")
    holiday: str | None = Field(None, description="for a day the library knows, its holiday's stable code "
                                                  "(new_years_day, spring_festival, tomb_sweeping_day, labour_day, "
                                                  "dragon_boat_festival, mid_autumn_festival, national_day)")


class YearOut(BaseModel):
    year: int
    coverage: Coverage = Field(description="weekday_rule_only means nobody has entered this year's holidays")
    working_days: int
    business_hours: list[str]
    timezone: str
    days: list[DayOut] = Field(description="holidays, make-up working days and overrides")


class DayIn(BaseModel):
    working: bool
    name: str = Field(min_length=1, max_length=200, examples=["2031 春节"])
