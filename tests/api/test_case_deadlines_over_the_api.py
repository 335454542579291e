"""The case's time limits as the case page reads them: a summons' report-in is due at the time chosen, its
limit the time that gives, to the minute; a return by the assisting department ends the handling step
as returned (naming who returned and whose part it withdrew), never as met; the steps after a
reassignment belong to the second dispatch and name its lead."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.org.models import Department
from tests.api.conftest import act, registered
from tests.conftest import REPO

PROBLEM_ZH = json.loads((REPO / "web" / "src" / "locales" / "zh-CN.json").read_text(encoding="utf-8"))["problem"]


def test_a_summons_deadline_is_stored_as_chosen(client: TestClient, joint: dict[str, Any]) -> None:
    case_id = registered(client, joint)
    chosen = (datetime.now().astimezone() + timedelta(hours=11, minutes=10)).replace(second=0, microsecond=0)
    summoned = act(client, joint["op"], case_id, "summon", reason="吹哨", data={
        "departments": {"water-990101": chosen.isoformat()}})
    assert summoned.status_code == 200
    (report_in,) = [row for row in summoned.json()["deadlines"] if row["step"] == "report_in"]
    assert datetime.fromisoformat(report_in["due_at"]) == chosen
    assert report_in["department_code"] == "water-990101" and report_in["round"] is None
    started = datetime.fromisoformat(report_in["started_at"])
    minutes = -(-(chosen - started) // timedelta(minutes=1))
    assert report_in["time_limit"] == f"{minutes}m" and 669 <= minutes <= 670  # 11 h 10 min, not 12 h
    assert (report_in["met_at"], report_in["ended"]) == (None, None)

    reported_in = act(client, joint["water"], case_id, "report_in")
    (report_in,) = [row for row in reported_in.json()["deadlines"] if row["step"] == "report_in"]
    assert report_in["ended"] == "met" and report_in["met_at"] is not None
    assert datetime.fromisoformat(report_in["due_at"]) == chosen


def test_a_summons_deadline_already_past_is_refused_and_changes_nothing(client: TestClient, session: Session,
                                                                        joint: dict[str, Any]) -> None:
    case_id = registered(client, joint)
    before = client.get(f"/api/v1/cases/{case_id}", headers=joint["op"]).json()
    past = act(client, joint["op"], case_id, "summon", reason="吹哨", data={
        "departments": {"water-990101": "2020-01-01T10:00:00+08:00"}})
    assert past.status_code == 422 and past.json()["code"] == "deadline_before_summons"
    # the department by its name, as the screens say it (its code stays for programs)
    water = session.scalar(select(Department.name).where(Department.code == "water-990101"))
    assert (past.json()["department"], past.json()["department_name"]) == ("water-990101", water)
    assert "{department_name}" in PROBLEM_ZH["deadline_before_summons"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=joint["op"]).json()["deadlines"] == before["deadlines"]


def test_a_return_by_the_assisting_department_ends_the_handling_step_as_returned(client: TestClient,
                                                                                joint: dict[str, Any]) -> None:
    case_id = registered(client, joint)
    act(client, joint["disp"], case_id, "dispatch", data={"lead": "greening-990101", "assisting": ["water-990101"]})
    act(client, joint["greener"], case_id, "acknowledge")
    returned = act(client, joint["water"], case_id, "return", reason="非水务职责").json()
    handle = returned["deadlines"][-2]
    assert handle["step"] == "handle" and handle["ended"] == "returned"
    assert handle["met_at"] == returned["timeline"][-1]["at"]
    assert (handle["returned_by"], handle["withdrawn"]) == ("water-990101", ["greening-990101"])
    assert [(row["step"], row["ended"]) for row in returned["deadlines"]] == [
        ("register", "met"), ("dispatch", "met"), ("acknowledge", "met"), ("handle", "returned"), ("dispatch", None)]

    act(client, joint["disp"], case_id, "reassign", reason="改派绿化", data={"lead": "greening-990101"})
    again = act(client, joint["greener"], case_id, "acknowledge").json()
    assert [(row["step"], row["round"], row["lead"]) for row in again["deadlines"]] == [
        ("register", None, None), ("dispatch", 1, None), ("acknowledge", 1, "greening-990101"),
        ("handle", 1, "greening-990101"), ("dispatch", 2, None), ("acknowledge", 2, "greening-990101"),
        ("handle", 2, "greening-990101")]
