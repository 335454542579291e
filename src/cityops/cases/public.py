"""What a citizen sees of a case: its timeline told as steps in plain words. Pure: no database, no web.

A citizen may see where the case stands, which department it was sent to (an office of the city, not a
person), what the department reports it did and the photos it took of the result — the handling report
(处置反馈) is the answer to the citizen's report, and what they rate. They never see who on the staff
acted, the centre's or a department's reasons (why a case was returned, why a check failed, why it was
closed or reopened), the roster's other departments, notes, deadlines or anything from the data of an
entry beyond the lead department. A return and a failed check are told in a neutral phrase.

Steps, by code: ``received``, ``registered``, ``not accepted``, ``merged``, ``sent to the department``
(with ``department``), ``returned``, ``sent again`` (with ``department``), ``being handled``,
``handled`` (with ``result`` and ``photos``), ``checked``, ``rework``, ``closed``, ``reopened``, ``rated``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

__all__ = ["CitizenStep", "Entry", "citizen_steps"]

_PLAIN = {"intake": "received", "register": "registered", "reject": "not accepted", "merge": "merged",
          "return": "returned", "close": "closed", "reopen": "reopened", "rate": "rated"}


class Entry(Protocol):
    """The fields of a timeline entry (``cases.models.CaseEvent``) the citizen's steps are told from."""

    action: str
    from_status: str | None
    to_status: str
    at: datetime
    reason: str | None
    attachments: list[str]
    data: dict[str, Any]


@dataclass(frozen=True)
class CitizenStep:
    step: str
    at: datetime
    department: str | None = None
    """the lead department's name, for ``sent to the department`` and ``sent again``"""
    result: str | None = None
    """what the department reports it did, for ``handled``"""
    photos: tuple[str, ...] = ()
    """sha256 of the photos of the result, for ``handled``"""


def _one(entry: Entry, department_name: Callable[[str], str | None]) -> list[CitizenStep]:
    action, at = entry.action, entry.at
    if action in ("dispatch", "reassign"):
        lead = entry.data.get("lead")
        name = department_name(lead) if isinstance(lead, str) else None
        return [CitizenStep("sent to the department" if action == "dispatch" else "sent again", at, department=name)]
    if action == "acknowledge":  # the first department to take it up; the others' add nothing for the citizen
        return [CitizenStep("being handled", at)] if entry.from_status == "dispatched" else []
    if action == "verify":
        return [CitizenStep("checked", at), CitizenStep("closed", at)] if entry.to_status == "closed" else [
            CitizenStep("rework", at)]
    return [CitizenStep(_PLAIN[action], at)] if action in _PLAIN else []


def citizen_steps(entries: Iterable[Entry], *, department_name: Callable[[str], str | None]) -> list[CitizenStep]:
    """The steps of ``entries`` (a timeline, oldest first) a citizen is told; ``department_name`` names a
    department by its code (None when unknown). In joint handling the departments' reports are told together,
    as one ``handled`` step, once the last of them is in."""
    steps: list[CitizenStep] = []
    results: list[str] = []
    photos: list[str] = []
    for entry in entries:
        if entry.action == "report":
            results += [entry.reason] if entry.reason else []
            photos += entry.attachments or []
            if entry.to_status == "handled":
                steps.append(CitizenStep("handled", entry.at, result="\n".join(results) or None, photos=tuple(photos)))
                results, photos = [], []
            continue
        if entry.action == "return":  # the parts reported before a return are handled again
            results, photos = [], []
        steps += _one(entry, department_name)
    return steps
