"""Time limits per step of the closed loop (时限), and how a category inherits them.

A limit is written as an amount and a unit: ``30m`` (natural minutes), ``4h`` (natural hours),
``3d`` (natural days), ``2wh`` (working hours) or ``5wd`` (working days). Working units count only
time on the work calendar (weekdays, official holidays and make-up working days); natural units run
around the clock. Pure values and functions, tested without a database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cityops.errors import InvalidInput


class Step(StrEnum):
    """The steps of a case that carry a time limit, in the order a case meets them."""

    register = "register"
    dispatch = "dispatch"
    acknowledge = "acknowledge"
    handle = "handle"
    verify = "verify"


STEP_ORDER: tuple[Step, ...] = tuple(Step)


class TimeUnit(StrEnum):
    minutes = "m"
    hours = "h"
    days = "d"
    working_hours = "wh"
    working_days = "wd"

    @property
    def working(self) -> bool:
        """True when the unit counts only working time on the work calendar."""
        return self in (TimeUnit.working_hours, TimeUnit.working_days)


# A limit longer than about a year is a typo, not a policy.
MAX_AMOUNT: dict[TimeUnit, int] = {
    TimeUnit.minutes: 366 * 24 * 60,
    TimeUnit.hours: 366 * 24,
    TimeUnit.days: 366,
    TimeUnit.working_hours: 250 * 8,
    TimeUnit.working_days: 250,
}
LIMIT_PATTERN = r"^[1-9][0-9]{0,5}(m|h|d|wh|wd)$"
_LIMIT = re.compile(r"([1-9][0-9]{0,5})(m|h|d|wh|wd)")
UNIT_WORDS = {TimeUnit.minutes: "minutes", TimeUnit.hours: "hours", TimeUnit.days: "days",
              TimeUnit.working_hours: "working hours", TimeUnit.working_days: "working days"}


@dataclass(frozen=True)
class TimeLimit:
    amount: int
    unit: TimeUnit

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise InvalidInput("a time limit's amount must be a whole number", field="amount")
        if not 1 <= self.amount <= MAX_AMOUNT[self.unit]:
            raise InvalidInput(f"a limit in {UNIT_WORDS[self.unit]} must be between 1 and "
                               f"{MAX_AMOUNT[self.unit]}", code="time_limit_out_of_range", field="amount",
                               extra={"max": MAX_AMOUNT[self.unit]})

    def __str__(self) -> str:
        return f"{self.amount}{self.unit.value}"

    @property
    def words(self) -> str:
        """``2 working hours``: for people, not for files."""
        return f"{self.amount} {UNIT_WORDS[self.unit]}"


def parse_limit(text: str, *, field: str = "time_limit") -> TimeLimit:
    """``"2wh"`` → ``TimeLimit(2, TimeUnit.working_hours)``. Surrounding blanks are ignored; anything
    else that is not the canonical form (``30m``, ``4h``, ``3d``, ``2wh``, ``5wd``) is refused."""
    match = _LIMIT.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(f"{text!r} is not a time limit; write an amount and a unit such as 30m, 4h, 3d, "
                           f"2wh (working hours) or 5wd (working days)", code="bad_time_limit", field=field,
                           extra={"value": text if isinstance(text, str) else repr(text)})
    try:
        return TimeLimit(int(match.group(1)), TimeUnit(match.group(2)))
    except InvalidInput as exc:
        raise InvalidInput(f"{text.strip()!r}: {exc.detail}", code=exc.code, field=field,
                           extra={**exc.extra, "value": text.strip()}) from exc


def format_limit(limit: TimeLimit) -> str:
    return str(limit)


def parse_step(name: str, *, field: str = "step") -> Step:
    try:
        return Step(name)
    except ValueError:
        raise InvalidInput(f"unknown step {name!r}; steps are {', '.join(s.value for s in Step)}",
                           field=field) from None


def parse_limits(raw: Mapping[str, str | None], *, field: str = "time_limits") -> dict[Step, TimeLimit]:
    """A stored or submitted ``{step: "2wh"}`` mapping → typed limits; empty values mean "inherit"."""
    limits: dict[Step, TimeLimit] = {}
    for name, text in raw.items():
        step = parse_step(name, field=f"{field}.{name}")
        if text is not None and str(text).strip():
            limits[step] = parse_limit(str(text), field=f"{field}.{step.value}")
    return dict(sorted(limits.items(), key=lambda item: STEP_ORDER.index(item[0])))


def format_limits(limits: Mapping[Step, TimeLimit]) -> dict[str, str]:
    """Typed limits → the stored form, steps in workflow order."""
    return {step.value: str(limits[step]) for step in STEP_ORDER if step in limits}


@dataclass(frozen=True)
class ResolvedLimit:
    limit: TimeLimit
    source: str | None
    """The code of the category that sets the limit, or None for the platform default."""


def effective_limits(chain: Sequence[tuple[str, Mapping[Step, TimeLimit]]], *,
                     default: Mapping[Step, TimeLimit]) -> dict[Step, ResolvedLimit]:
    """Each step's limit for the first category of ``chain`` (a category and then its ancestors,
    as ``(code, own limits)`` pairs): its own value, else the nearest ancestor's, else ``default``,
    which must cover every step."""
    missing = [s.value for s in Step if s not in default]
    if missing:
        raise ValueError(f"the platform default lacks a limit for {', '.join(missing)}")
    resolved: dict[Step, ResolvedLimit] = {}
    for step in STEP_ORDER:
        resolved[step] = next((ResolvedLimit(own[step], code) for code, own in chain if step in own),
                              ResolvedLimit(default[step], None))
    return resolved
