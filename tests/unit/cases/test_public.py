"""What a citizen is told of a case's timeline (cases.public), without a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cityops.cases.public import CitizenStep, citizen_steps

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


@dataclass
class Entry:
    action: str
    from_status: str | None
    to_status: str
    reason: str | None = None
    attachments: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = T0


def _told(*entries: Entry) -> list[CitizenStep]:
    timed = [Entry(**{**e.__dict__, "at": T0 + timedelta(minutes=i)}) for i, e in enumerate(entries)]
    return citizen_steps(timed, department_name={"green": "区绿化市容局"}.get)


def test_a_joint_case_returned_mid_way_tells_only_the_result_of_the_round_that_finished() -> None:
    steps = _told(
        Entry("intake", None, "reported"), Entry("register", "reported", "registered"),
        Entry("dispatch", "registered", "dispatched", data={"lead": "green", "assisting": ["water"]}),
        Entry("acknowledge", "dispatched", "in_progress"), Entry("acknowledge", "in_progress", "in_progress"),
        Entry("report", "in_progress", "in_progress", reason="水务已疏通", attachments=["a" * 64]),
        Entry("return", "in_progress", "returned", reason="内部：职责不清"),
        Entry("reassign", "returned", "dispatched", reason="内部：改派", data={"lead": "gone"}),
        Entry("acknowledge", "dispatched", "in_progress"),
        Entry("report", "in_progress", "handled", reason="已清理", attachments=["b" * 64]),
        Entry("verify", "handled", "in_progress", reason="内部：不合格"),
        Entry("report", "in_progress", "handled", reason="已彻底清理"),
        Entry("verify", "handled", "closed"), Entry("reopen", "closed", "in_progress", reason="内部：再诉"),
        Entry("summon", "in_progress", "in_progress", reason="内部"), Entry("rate", "closed", "closed"))
    assert [(s.step, s.department, s.result, s.photos) for s in steps] == [
        ("received", None, None, ()), ("registered", None, None, ()),
        ("sent to the department", "区绿化市容局", None, ()), ("being handled", None, None, ()),
        ("returned", None, None, ()), ("sent again", None, None, ()),  # a department no longer known: unnamed
        ("being handled", None, None, ()), ("handled", None, "已清理", ("b" * 64,)), ("rework", None, None, ()),
        ("handled", None, "已彻底清理", ()), ("checked", None, None, ()), ("closed", None, None, ()),
        ("reopened", None, None, ()), ("rated", None, None, ())]
    assert [s.at for s in steps] == sorted(s.at for s in steps)
