"""Performance figures from timelines — pure: facts per case in, one row per group out.

Definitions (each rate is a share of the cases it can apply to; a group with none gives None):
- closure rate: closed cases ÷ registered cases;
- on-time closure rate: closed cases none of whose steps was met after its deadline ÷ closed cases (a
  step whose extension was asked for only after its deadline had passed was met late); a step a return
  cut short or a deferral stopped was not met, on time or late: the return counts in the return rate,
  against the department that returned, and the step taken again after it has a deadline of its own;
- overdue cases: cases with a step whose deadline passed unmet before the period's end (met late, ended
  by a return or a deferral only after it had passed, still unmet, or extended on a request made only
  after it had passed), and the overdue rate: those ÷ cases;
- overdue now: cases still open with a step whose deadline has passed unmet;
- rework rate: handled cases sent back by a failed verification at least once ÷ handled cases;
- return rate: returns by departments ÷ dispatches to them (lead and assisting departments alike);
- satisfaction rate: ratings of 4 or 5 ÷ rated cases (and the mean rating); a reopen voids the rating;
- handling hours: from the last dispatch to the first handling report after it (median and mean), read
  off the timeline: a dispatch that a return cut short does not count.

By department, a case's outcome (closure, on-time closure, overdue, rework, rating, handling time) counts for
the lead of its last dispatch — a department that returned a case is not answerable for what the one
it was reassigned to did with it — while each return counts for the department that returned it and
each dispatch for every department it went to. So a department that returned a case which another then
handled has 0 cases and yet a return rate (1 return ÷ 1 dispatch): the rows give both counts beside the rate.
The totals (``overall``) are read off the same facts, never summed from the rows' rates.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cityops.cases.deadlines import StepEnd
from cityops.cases.states import FINISHED_STATUSES


@dataclass(frozen=True)
class StepDeadline:
    """One step's stored time limit: when it is due, when it ended (None: not yet) and how
    (``cases.deadlines.StepEnd``: its work done, cut short by a return, or stopped by a deferral)."""

    due_at: datetime
    met_at: datetime | None = None
    """When the step ended, however it ended (the column's name says ``met``)."""
    ended: str | None = None
    """How it ended; None for a row that ended without saying how (an imported history's), which was met."""

    @property
    def met(self) -> bool:
        """The step's work was done: it ended, and not by a return or a deferral."""
        return self.met_at is not None and (self.ended or StepEnd.met) == StepEnd.met

    @property
    def ended_late(self) -> bool:
        """It ended, however, after its deadline had passed."""
        return self.met_at is not None and self.met_at > self.due_at


@dataclass
class CaseFacts:
    """What a case's timeline says, for the figures."""

    case_id: int
    opened_at: datetime
    category: str | None = None
    area: str | None = None
    department: str | None = None        # the lead department of the last dispatch
    registered: bool = False
    dispatched_to: list[str] = field(default_factory=list)
    """Every department of every dispatch and reassignment, once per dispatch."""
    returned_by: list[str | None] = field(default_factory=list)
    """The department of every return (None when the timeline does not say)."""
    handled: bool = False
    reworked: bool = False
    closed: bool = False
    late_steps: int = 0
    """Steps met after their deadline (not those a return or deferral ended after it: they were not met)."""
    overdue: bool = False
    """A step's deadline passed unmet before the period's end (extended only afterwards counts too)."""
    overdue_now: bool = False
    """Still open, with a step's deadline passed unmet."""
    rating: int | None = None
    dispatched_at: datetime | None = None
    """When the last dispatch or reassignment happened."""
    reported_at: datetime | None = None
    """The first handling report after it."""

    @property
    def dispatches(self) -> int:
        return len(self.dispatched_to)

    @property
    def returns(self) -> int:
        return len(self.returned_by)


@dataclass
class Row:
    group: str
    cases: int = 0
    registered: int = 0
    closed: int = 0
    closed_on_time: int = 0
    overdue: int = 0
    overdue_now: int = 0
    handled: int = 0
    reworked: int = 0
    dispatches: int = 0
    returns: int = 0
    rated: int = 0
    satisfied: int = 0
    ratings: list[int] = field(default_factory=list)
    handling_hours: list[float] = field(default_factory=list)

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    def figures(self) -> dict[str, object]:
        """The row's figures: each rate beside the two counts it divides (``figures.RATE_PARTS``)."""
        return {
            "group": self.group, "cases": self.cases, "registered": self.registered, "closed": self.closed,
            "closure_rate": self._share(self.closed, self.registered), "closed_on_time": self.closed_on_time,
            "on_time_closure_rate": self._share(self.closed_on_time, self.closed),
            "overdue_cases": self.overdue, "overdue_rate": self._share(self.overdue, self.cases),
            "overdue_now": self.overdue_now, "handled": self.handled, "reworked": self.reworked,
            "rework_rate": self._share(self.reworked, self.handled),
            "dispatches": self.dispatches, "returns": self.returns,
            "return_rate": self._share(self.returns, self.dispatches),
            "rated": self.rated, "satisfied": self.satisfied,
            "satisfaction_rate": self._share(self.satisfied, self.rated),
            "mean_rating": round(statistics.fmean(self.ratings), 2) if self.ratings else None,
            "median_handling_hours": round(statistics.median(self.handling_hours), 2) if self.handling_hours else None,
            "mean_handling_hours": round(statistics.fmean(self.handling_hours), 2) if self.handling_hours else None,
        }


NO_GROUP = "(none)"
"""The group of the cases with no department (never dispatched), area or category."""

GROUPINGS: dict[str, Callable[[CaseFacts], str | None]] = {
    "department": lambda f: f.department,
    "area": lambda f: f.area,
    "category": lambda f: f.category,
    "month": lambda f: f.opened_at.strftime("%Y-%m"),
    "week": lambda f: f.opened_at.strftime("%G-W%V"),
    "all": lambda f: "all",
}


def tabulate(facts: Iterable[CaseFacts], *, by: str) -> list[dict[str, object]]:
    """One row of figures per group, in the order of the groups' keys. Every case counts in exactly one
    group, and so does every dispatch and every return: the rows' counts add up to ``overall``'s."""
    key = GROUPINGS[by]
    rows: dict[str, Row] = {}

    def row_of(group: str | None) -> Row:
        group = group or NO_GROUP
        return rows.setdefault(group, Row(group=group))

    for fact in facts:
        row = row_of(key(fact))
        row.cases += 1
        row.registered += fact.registered
        row.closed += fact.closed
        row.closed_on_time += fact.closed and fact.late_steps == 0
        row.overdue += fact.overdue
        row.overdue_now += fact.overdue_now
        row.handled += fact.handled
        row.reworked += fact.reworked
        if by == "department":
            for department in fact.dispatched_to:
                row_of(department).dispatches += 1
            for department in fact.returned_by:
                row_of(department or fact.department).returns += 1
        else:
            row.dispatches += fact.dispatches
            row.returns += fact.returns
        if fact.rating is not None:
            row.rated += 1
            row.satisfied += fact.rating >= 4
            row.ratings.append(fact.rating)
        if fact.dispatched_at and fact.reported_at:
            row.handling_hours.append((fact.reported_at - fact.dispatched_at).total_seconds() / 3600)
    return [rows[g].figures() for g in sorted(rows)]


def overall(facts: Iterable[CaseFacts]) -> dict[str, object]:
    """The figures of all the cases together, as one group named ``all`` (its rates None when there are none)."""
    rows = tabulate(facts, by="all")
    return rows[0] if rows else Row(group="all").figures()


def facts_from(case_id: int, opened_at: datetime, events: Sequence[tuple[Any, ...]], *, category: str | None,
               area: str | None, now: datetime, deadlines: Sequence[StepDeadline] = (),
               period_end: datetime | None = None) -> CaseFacts:
    """Read a case's facts off its timeline and its steps' deadlines as they stand at ``now``: ``events``
    are (action, to_status, at, data) or (action, to_status, at, data, actor's department), in order; a
    deadline counts as overdue when it passed unmet before ``period_end`` (or now, when sooner)."""
    facts = CaseFacts(case_id=case_id, opened_at=opened_at, category=category, area=area,
                      late_steps=sum(d.met and d.ended_late for d in deadlines))
    cutoff = min(now, period_end) if period_end is not None else now
    facts.overdue = any(d.due_at < cutoff and (d.met_at is None or d.ended_late) for d in deadlines)
    status, asked_at = None, None
    for action, to_status, at, data, *department in events:
        status = to_status
        if action == "register":
            facts.registered = True
        elif action in ("dispatch", "reassign"):
            facts.department = data.get("lead")
            facts.dispatched_to += [d for d in (data.get("lead"), *(data.get("assisting") or ())) if d]
            facts.dispatched_at, facts.reported_at = at, None
        elif action == "return":
            facts.returned_by.append(department[0] if department and department[0] else facts.department)
        elif action == "report" and to_status == "handled":
            facts.handled = True
            facts.reported_at = facts.reported_at or at
        elif action == "verify" and to_status == "in_progress":
            facts.reworked = True
        elif action == "rate":
            facts.rating = data.get("score")
        elif action == "request_extension":
            asked_at = at
        elif action == "approve_extension":
            # An extension asked for after the deadline had passed does not undo that the step went
            # overdue, nor make it met on time; one asked for in time does, however late the approval.
            replaced = (data.get("replaced_deadline") or {}).get("due_at")
            if replaced is not None and datetime.fromisoformat(replaced) < min(asked_at or at, cutoff):
                facts.overdue = True
            if replaced is not None and datetime.fromisoformat(replaced) < (asked_at or at):
                facts.late_steps += 1
            asked_at = None
        if to_status == "closed":
            facts.closed = True
        elif action == "reopen":
            facts.closed = False
            facts.rating = None
    facts.overdue_now = status not in FINISHED_STATUSES and any(
        d.met_at is None and d.due_at < now for d in deadlines)
    return facts
