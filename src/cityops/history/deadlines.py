"""Step deadlines for a whole history, computed once per distinct question.

``cases.deadlines.due_and_reminder`` costs about 20 µs a step on the work calendar, five steps a
case: more than writing the case. For limits in working hours or days its answer depends on the
start only through the start's local date and — on a working day — the working time already past
that day (the calendar's rules read business hours and dates on its wall clock, see
``cityops.calendar.deadlines``). A start at night, over lunch or on a holiday therefore asks the
same question as every other start of that day before the next working period, and the four steps
a case starts at its opening share one start; each distinct question is asked once. Limits in
natural time depend on the exact start and are computed each time (they cost little). Starts
within working periods each ask their own question, so the memory is emptied when it grows large.
"""

from __future__ import annotations

from datetime import date, datetime

from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases.deadlines import WORKING_UNITS, due_and_reminder
from cityops.categories.time_limits import TimeLimit

MAX_ANSWERS = 200_000


class StepDeadlines:
    """``due_and_reminder`` on one calendar, remembering the answers for working-time limits."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self.answers: dict[tuple[TimeLimit, date | None, int | None], tuple[datetime, datetime]] = {}
        self.last: tuple[datetime | None, tuple[object, int | None]] = (None, (None, None))

    def due_and_reminder(self, start: datetime, limit: TimeLimit) -> tuple[datetime, datetime]:
        if limit.unit not in WORKING_UNITS:
            return due_and_reminder(start, limit, self.calendar)
        last, (day, passed) = self.last
        if start != last:
            day, passed = self._when(start)
            self.last = (start, (day, passed))
        key = (limit, day, passed)
        answer = self.answers.get(key)
        if answer is None:
            if len(self.answers) >= MAX_ANSWERS:
                self.answers.clear()
            answer = self.answers[key] = due_and_reminder(start, limit, self.calendar)
        return answer

    def _when(self, start: datetime) -> tuple[object, int | None]:
        """The start's local date, and the working time past that day (None on a day off)."""
        calendar = self.calendar
        local = start.astimezone(calendar.timezone)
        day = local.date()
        if not calendar.is_working_day(day):
            return day, None
        return day, calendar.hours.elapsed(((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000
                                           + local.microsecond)
