"""The citizen's tracking page is told the case's story in plain steps — sent to which department, returned
and sent again, what the department did and its photo, checked, closed — and nothing the staff keep to
themselves: no staff names, no reasons for a return, a failed check or a reopening, no contact details."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityops.org import service as org_service
from tests.api.conftest import IN_STREET, act
from tests.api.test_media import JPEG, PNG
from tests.factories import login, make_user

RETURN_REASON = "不属于本单位职责，内部协调中"
REWORK_REASON = "复查仍有残留，扣分处理"
REOPEN_REASON = "市民再次来电投诉"


def _photo(client: TestClient, headers: dict[str, str], content: bytes, name: str) -> str:
    uploaded = client.post("/api/v1/attachments", headers=headers, files={"file": (name, content, "image/jpeg")})
    assert uploaded.status_code == 201, uploaded.text
    return uploaded.json()["sha256"]


def test_the_citizen_reads_each_step_and_what_was_done_but_nothing_internal(
        client: TestClient, session: Session, loop: dict[str, Any]) -> None:
    org_service.get_department(session, code="greening-990101").name = "区绿化市容局"
    session.flush()
    citizen_photo = client.post("/api/v1/public/attachments",
                                files={"file": ("scene.jpg", PNG, "image/png")}).json()["sha256"]
    code = client.post("/api/v1/public/cases", json={
        "title": "井盖缺失", "category_code": "E0102", "reporter_phone": "13912345678",
        "attachments": [citizen_photo], **IN_STREET}).json()["tracking_code"]
    case_id = client.get("/api/v1/cases", params={"queue": "to_register"}, headers=loop["op"]).json()["items"][0]["id"]
    act(client, loop["op"], case_id, "register")
    act(client, loop["disp"], case_id, "dispatch", data={"lead": "greening-990101"})
    act(client, loop["greener"], case_id, "acknowledge")
    note = _photo(client, loop["greener"], JPEG + b"note", "note.jpg")
    assert act(client, loop["greener"], case_id, "return", reason=RETURN_REASON,
               attachments=[note]).json()["status"] == "returned"
    act(client, loop["disp"], case_id, "reassign", reason="重新核定职责", data={"lead": "greening-990101"})
    act(client, loop["greener"], case_id, "acknowledge")
    act(client, loop["greener"], case_id, "report", reason="已临时围挡")
    act(client, loop["insp"], case_id, "verify", data={"passed": False}, reason=REWORK_REASON)
    after = _photo(client, loop["greener"], JPEG + b"after", "after.jpg")
    act(client, loop["greener"], case_id, "report", reason="已更换新井盖并设置警示", attachments=[after])
    closed = act(client, loop["insp"], case_id, "verify", data={"passed": True})
    assert closed.json()["status"] == "closed", closed.text

    followed = client.get(f"/api/v1/public/cases/{code}")
    assert followed.status_code == 200
    body = followed.json()
    assert [(s["step"], s["department"]) for s in body["progress"]] == [
        ("received", None), ("registered", None), ("sent to the department", "区绿化市容局"),
        ("being handled", None), ("returned", None), ("sent again", "区绿化市容局"), ("being handled", None),
        ("handled", None), ("rework", None), ("handled", None), ("checked", None), ("closed", None)]
    handled = [s for s in body["progress"] if s["step"] == "handled"]
    assert [(s["result"], s["photos"]) for s in handled] == [("已临时围挡", []), ("已更换新井盖并设置警示", [after])]
    assert all(s["result"] is None and s["photos"] == [] for s in body["progress"] if s["step"] != "handled")
    assert set(body) == {"tracking_code", "status", "title", "opened_at", "closed_at", "rating", "progress"}
    assert all(set(s) == {"step", "at", "department", "result", "photos"} for s in body["progress"])
    for private in (RETURN_REASON, REWORK_REASON, "重新核定职责", "greener", "disp", "insp", "13912345678",
                    "greening-990101", citizen_photo, note, "actor", "reason"):
        assert private not in followed.text, private

    # the result's photo is served to anyone with the code; nothing else of the case is
    photo = client.get(f"/api/v1/public/cases/{code}/photos/{after}")
    assert photo.status_code == 200 and photo.content == JPEG + b"after"
    for hidden in (note, citizen_photo):
        refused = client.get(f"/api/v1/public/cases/{code}/photos/{hidden}")
        assert refused.status_code == 404 and refused.json()["code"] == "unknown_attachment"
    assert client.get(f"/api/v1/public/cases/NOSUCHCODE/photos/{after}").status_code == 404

    reopened = act(client, loop["op"], case_id, "reopen", reason=REOPEN_REASON).json()
    assert reopened["status"] == "in_progress"
    again = client.get(f"/api/v1/public/cases/{code}")
    assert again.json()["progress"][-1]["step"] == "reopened" and REOPEN_REASON not in again.text


def test_joint_handling_reads_as_one_department_taking_it_up_and_one_result_of_all(
        client: TestClient, loop: dict[str, Any], session: Session) -> None:
    org_service.create_department(session, code="water-990101", name="区水务局", level="district",
                                  area_code="990101", kind="water", origin="test")
    make_user(session, username="waterman", roles=["handler"], area_code="990101", department_code="water-990101")
    session.flush()
    water = login(client, "waterman")
    code = client.post("/api/v1/public/cases", json={"title": "路面积水", "category_code": "E0102",
                                                      **IN_STREET}).json()["tracking_code"]
    case_id = client.get("/api/v1/cases", params={"queue": "to_register"}, headers=loop["op"]).json()["items"][0]["id"]
    act(client, loop["op"], case_id, "register")
    act(client, loop["disp"], case_id, "dispatch", data={"lead": "greening-990101", "assisting": ["water-990101"]})
    act(client, loop["greener"], case_id, "acknowledge")
    act(client, water, case_id, "acknowledge")
    act(client, water, case_id, "report", reason="水务：已疏通雨水口")
    assert act(client, loop["greener"], case_id, "report", reason="已清理路面").json()["status"] == "handled"
    body = client.get(f"/api/v1/public/cases/{code}").json()
    assert [s["step"] for s in body["progress"]] == [
        "received", "registered", "sent to the department", "being handled", "handled"]
    assert body["progress"][2]["department"] == "greening-990101"  # the lead; the roster stays the centre's
    assert body["progress"][-1]["result"] == "水务：已疏通雨水口\n已清理路面"
