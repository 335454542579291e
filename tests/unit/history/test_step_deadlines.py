"""The import's remembered step deadlines are the calendar's own answers, start by start: at night,
over lunch, on weekends, holidays and make-up days, across a daylight-saving change, and when the
memory is emptied."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from cityops.calendar.workcalendar import DayOverride, WorkCalendar
from cityops.cases.deadlines import due_and_reminder
from cityops.categories.time_limits import parse_limit
from cityops.history import deadlines
from cityops.history.deadlines import StepDeadlines

LIMITS = [parse_limit(text) for text in ("1wh", "2wh", "7wh", "9wh", "1wd", "5wd", "30m", "4h", "3d")]
CALENDARS = [
    WorkCalendar(),
    WorkCalendar(overrides=[DayOverride(date(2025, 3, 7), False, "a holiday"),
                            DayOverride(date(2025, 3, 8), True, "a make-up day")]),
    WorkCalendar(timezone="America/Los_Angeles", business_hours=["08:00-12:00", "12:30-17:00"]),
]


def starts(seed: int, count: int) -> list[datetime]:
    """Starts over five weeks around LA's spring change, on the minute, the second and between."""
    rng = random.Random(seed)
    first = datetime(2025, 2, 24, tzinfo=UTC)
    found = [first + timedelta(seconds=rng.randrange(35 * 86400)) for _ in range(count)]
    found += [first + timedelta(days=rng.randrange(35), hours=h, minutes=m) for h in range(24) for m in (0, 30)]
    return found + [s + timedelta(microseconds=rng.randrange(1_000_000)) for s in found[:200]]


@pytest.mark.parametrize("calendar", CALENDARS, ids=repr)
def test_each_answer_is_the_calendars_own(calendar: WorkCalendar) -> None:
    remembered = StepDeadlines(calendar)
    for start in starts(7, 1500):
        for limit in LIMITS:
            assert remembered.due_and_reminder(start, limit) == due_and_reminder(start, limit, calendar), \
                (start, limit)
    assert len(remembered.answers) < 1500 * len(LIMITS)  # starts outside working periods shared answers


def test_answers_stay_right_when_the_memory_is_emptied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deadlines, "MAX_ANSWERS", 10)
    calendar = WorkCalendar()
    remembered = StepDeadlines(calendar)
    for start in starts(11, 300):
        limit = LIMITS[start.second % 6]
        assert remembered.due_and_reminder(start, limit) == due_and_reminder(start, limit, calendar)
    assert len(remembered.answers) <= 10
