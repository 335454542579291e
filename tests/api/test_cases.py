"""The closed loop through the API: a citizen's report registered, dispatched, handled, verified,
closed and rated; trusted channels that register and dispatch themselves; retries that never make
a second case; and moves refused for the wrong status, role or jurisdiction — changing nothing."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.categories import service as categories_service
from cityops.classify import model as classifier
from cityops.models import Case, CaseEvent
from tests.api.conftest import IN_OTHER_STREET, IN_STREET, STREET, act
from tests.api.test_media import JPEG


def test_a_citizen_report_goes_round_the_whole_loop(client: TestClient, loop: dict[str, Any]) -> None:
    reported = client.post("/api/v1/public/cases", json={"title": "路边垃圾堆", "category_code": "E0102",
                                                          **IN_STREET})
    assert reported.status_code == 201, reported.text
    code = reported.json()["tracking_code"]
    case_id = client.get("/api/v1/cases", params={"queue": "to_register"}, headers=loop["op"]).json()["items"][0]["id"]
    assert act(client, loop["op"], case_id, "register").json()["status"] == "registered"
    dispatched = act(client, loop["disp"], case_id, "dispatch", data={"lead": "greening-990101"}).json()
    assert dispatched["status"] == "dispatched"
    assert dispatched["assignments"] == [{"department_code": "greening-990101", "role": "lead", "position": 0,
                                          "status": "dispatched"}]
    inbox = client.get("/api/v1/cases", params={"queue": "to_acknowledge"}, headers=loop["greener"]).json()
    assert [c["id"] for c in inbox["items"]] == [case_id]
    assert act(client, loop["greener"], case_id, "acknowledge").json()["status"] == "in_progress"
    photo = client.post("/api/v1/attachments", headers=loop["greener"],
                        files={"file": ("after.jpg", JPEG, "image/jpeg")}).json()["sha256"]
    handled = act(client, loop["greener"], case_id, "report", reason="已清运", attachments=[photo])
    assert handled.json()["timeline"][-1]["attachments"] == [photo]
    assert handled.json()["status"] == "handled"
    failed = act(client, loop["insp"], case_id, "verify", data={"passed": False}, reason="仍有残留")
    assert failed.json()["status"] == "in_progress" and failed.json()["rework_count"] == 1
    act(client, loop["greener"], case_id, "report", reason="已彻底清理")
    closed = act(client, loop["insp"], case_id, "verify", data={"passed": True}).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    rated = client.post(f"/api/v1/public/cases/{code}/rating", json={"score": 5, "comment": "很快"})
    assert rated.status_code == 200 and rated.json()["rating"] == 5
    assert [step["step"] for step in rated.json()["progress"]] == [
        "received", "registered", "sent to the department", "being handled", "handled", "rework", "handled",
        "checked", "closed", "rated"]
    timeline = client.get(f"/api/v1/cases/{case_id}", headers=loop["op"]).json()["timeline"]
    assert [e["version"] for e in timeline] == list(range(1, 10))
    assert timeline[0]["actor_kind"] == "citizen" and timeline[2]["actor_name"] == "disp"


def test_a_trusted_channel_is_registered_and_routed_by_the_platform(client: TestClient,
                                                                     loop: dict[str, Any]) -> None:
    routed = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": "垃圾", "category_code": "E0102", **IN_STREET}).json()
    assert routed["status"] == "dispatched" and routed["assignments"][0]["department_code"] == "greening-990101"
    assert [(e["action"], e["actor_kind"]) for e in routed["timeline"]] == [
        ("intake", "user"), ("register", "system"), ("dispatch", "system")]
    unowned = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": "无主", "category_code": "E0199", **IN_STREET}).json()
    assert unowned["assignments"][0]["department_code"] == "street-99010101"  # 属地兜底
    untyped = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": "不知类别", **IN_STREET}).json()
    assert untyped["status"] == "registered"  # waits for a dispatcher to set the category


def test_a_report_with_only_an_address_is_placed_by_the_area_names_it_gives(client: TestClient,
                                                                           loop: dict[str, Any]) -> None:
    placed = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": "垃圾", "category_code": "E0102",
        "address": "测试市测试1区测试1区第1街道幸福路5号"}).json()
    assert placed["area_code"] == STREET and placed["status"] == "dispatched"
    assert placed["timeline"][0]["data"]["located_by_address"] == {
        "named": ["测试市", "测试1区", "测试1区第1街道"], "ambiguous": False}
    nowhere = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": "垃圾", "category_code": "E0102", "address": "幸福路5号"}).json()
    assert "located_by_address" not in nowhere["timeline"][0]["data"]
    elsewhere = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": "垃圾", "category_code": "E0102", "address": "测试1区第2街道"})
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "outside_jurisdiction"


def test_retries_never_create_a_second_case(client: TestClient, loop: dict[str, Any], session: Session) -> None:
    body = {"channel": "hotline_12345", "title": "噪音", "external_id": "12345-0001", **IN_STREET}
    first = client.post("/api/v1/cases", headers=loop["op"], json=body)
    again = client.post("/api/v1/cases", headers=loop["op"], json=body)
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    keyed = {**loop["op"], "Idempotency-Key": "k-1"}
    one = client.post("/api/v1/cases", headers=keyed, json={"channel": "hotline_12345", "title": "x", **IN_STREET})
    two = client.post("/api/v1/cases", headers=keyed, json={"channel": "hotline_12345", "title": "x", **IN_STREET})
    assert one.json()["id"] == two.json()["id"]
    assert session.scalar(select(func.count()).select_from(Case)) == 2


def test_refused_moves_are_clear_and_change_nothing(client: TestClient, loop: dict[str, Any],
                                                    session: Session) -> None:
    case = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "井盖缺失", **IN_STREET}).json()
    events = session.scalar(select(func.count()).select_from(CaseEvent))
    illegal = act(client, loop["disp"], case["id"], "verify", data={"passed": True})
    assert illegal.status_code == 409 and illegal.json()["code"] == "illegal_transition"
    assert illegal.json()["allowed"] == ["handled"]
    wrong_role = act(client, loop["insp"], case["id"], "register")
    assert wrong_role.status_code == 403 and wrong_role.json()["code"] == "role_not_allowed"
    no_reason = act(client, loop["op"], case["id"], "reject")
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    outside = act(client, loop["other.op"], case["id"], "register")
    assert outside.status_code == 404 and outside.json()["code"] == "unknown_case"
    not_yet = act(client, loop["greener"], case["id"], "acknowledge")  # the district sees it; not sent yet
    assert not_yet.status_code == 409 and not_yet.json()["case_status"] == "reported"
    unknown = act(client, loop["op"], case["id"], "teleport")
    assert unknown.status_code == 422
    assert session.scalar(select(func.count()).select_from(CaseEvent)) == events
    assert client.get(f"/api/v1/cases/{case['id']}", headers=loop["op"]).json()["status"] == "reported"


def test_reports_outside_the_jurisdiction_or_city_are_refused(client: TestClient, loop: dict[str, Any],
                                                               session: Session) -> None:
    outside = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "x", **IN_OTHER_STREET})
    assert outside.status_code == 403 and outside.json()["code"] == "outside_jurisdiction"
    nowhere = client.post("/api/v1/public/cases", json={"title": "x", "lon": 100.0, "lat": 10.0})
    assert nowhere.status_code == 422 and nowhere.json()["field"] == "lon"
    bad_category = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "x", "category_code": "NOPE", **IN_STREET})
    assert bad_category.status_code == 404 and bad_category.json()["field"] == "category_code"
    assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_citizen_follows_by_tracking_code_and_cannot_rate_an_open_case(client: TestClient,
                                                                           loop: dict[str, Any]) -> None:
    code = client.post("/api/v1/public/cases", json={"title": "路灯不亮", **IN_STREET}).json()["tracking_code"]
    followed = client.get(f"/api/v1/public/cases/{code.lower()}").json()
    assert followed["status"] == "reported" and "reporter_phone" not in followed
    early = client.post(f"/api/v1/public/cases/{code}/rating", json={"score": 4})
    assert early.status_code == 409 and early.json()["code"] == "illegal_transition"
    assert client.get("/api/v1/public/cases/NOSUCHCODE").status_code == 404


def test_a_second_report_of_the_same_problem_is_merged_and_raises_priority(client: TestClient,
                                                                             loop: dict[str, Any]) -> None:
    first = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "小区门口暴露垃圾", "category_code": "E0102", **IN_STREET}).json()
    again = client.post("/api/v1/public/cases", json={"title": "小区门口有暴露垃圾", "category_code": "E0102",
                                                       "lon": 121.0201, "lat": 31.0501})
    assert again.status_code == 201
    merged = client.get("/api/v1/cases", params={"status": "merged"}, headers=loop["op"]).json()["items"]
    assert len(merged) == 1
    detail = client.get(f"/api/v1/cases/{merged[0]['id']}", headers=loop["op"]).json()
    assert detail["duplicate_of"] == first["id"] and detail["duplicates"][0]["merged"]
    assert detail["timeline"][-1]["action"] == "merge" and detail["timeline"][-1]["actor_kind"] == "system"
    # staff read which case it duplicates by its tracking code, never by its id
    assert detail["timeline"][-1]["primary_case"] == {"id": first["id"], "tracking_code": first["tracking_code"]}
    assert detail["timeline"][-1]["reason"].startswith(f"与案件 {first['tracking_code']} 重复：相距 ")
    assert (detail["follows_tracking_code"], detail["duplicate_of_tracking_code"]) == (first["tracking_code"],) * 2
    assert detail["duplicates"][0]["tracking_code"] == first["tracking_code"]
    primary = client.get(f"/api/v1/cases/{first['id']}", headers=loop["op"]).json()
    assert (primary["report_count"], primary["priority"]) == (2, 1)
    # The second reporter follows the primary case.
    act(client, loop["op"], first["id"], "register")
    followed = client.get(f"/api/v1/public/cases/{again.json()['tracking_code']}").json()
    assert followed["status"] == "registered" and followed["progress"][-1]["step"] == "registered"


def test_a_similar_but_distinct_report_is_only_suggested(client: TestClient, loop: dict[str, Any]) -> None:
    first = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "垃圾桶满了", "category_code": "E0102", **IN_STREET}).json()
    second = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "绿化带里有建筑垃圾", "category_code": "E0102",
        "lon": 121.0205, "lat": 31.0505}).json()
    assert second["status"] == "reported" and second["duplicate_of"] is None
    assert [d["candidate_id"] for d in second["duplicates"]] == [first["id"]]
    assert not second["duplicates"][0]["merged"] and second["duplicates"][0]["score"] < 0.75


def test_a_report_without_a_category_gets_the_classifiers_suggestions(client: TestClient, loop: dict[str, Any],
                                                                       settings, tmp_path) -> None:  # noqa: ANN001
    texts = [f"{place}{problem}" for place in ("东门", "西门", "南门", "北门", "中心广场", "菜场旁")
             for problem in ("暴露垃圾没人清理", "垃圾堆积发臭")]
    texts += [f"{place}{problem}" for place in ("东门", "西门", "南门", "北门", "中心广场", "菜场旁")
              for problem in ("井盖丢失很危险", "窨井盖破损")]
    labels = ["暴露垃圾"] * 12 + ["C0101"] * 12  # a category's name, or a code
    model_file = tmp_path / "categories.model"
    classifier.save(classifier.train(texts, labels), model_file)
    settings.classifier_model = model_file
    case = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "楼下暴露垃圾好几天没人清理", **IN_STREET}).json()
    suggested = case["timeline"][0]["data"]["suggested_categories"]
    assert suggested[0]["code"] == "E0102" and suggested[0]["label"] == "暴露垃圾"
    assert case["category_code"] is None  # an operator confirms it


def test_text_search_finds_chinese_words_of_any_length(client: TestClient, loop: dict[str, Any]) -> None:
    for title, description in (("人民路井盖缺失", "车辆经过很危险"), ("路灯不亮", "晚上一片漆黑"),
                               ("Broken streetlight", "dark at night")):
        client.post("/api/v1/cases", headers=loop["op"], json={
            "channel": "hotline_12345", "title": title, "description": description, **IN_STREET})

    def found(q: str) -> list[str]:
        return [c["title"] for c in client.get("/api/v1/cases", params={"q": q}, headers=loop["op"]).json()["items"]]

    assert found("井盖") == ["人民路井盖缺失"]            # two characters: substring match
    assert found("井盖缺失") == ["人民路井盖缺失"]        # trigram index
    assert found("一片漆黑") == ["路灯不亮"]              # description too
    assert found("路灯 漆黑") == ["路灯不亮"]             # every term must match
    assert found("STREETLIGHT") == ["Broken streetlight"]  # case-insensitive
    assert found("垃圾") == []
    assert found('"; DROP') == []
    assert client.get("/api/v1/cases", params={"q": "井盖"}, headers=loop["other.op"]).json()["items"] == []


def test_the_performance_report_is_read_off_the_timelines(client: TestClient, loop: dict[str, Any]) -> None:
    test_a_citizen_report_goes_round_the_whole_loop(client, loop)
    rows = client.get("/api/v1/reports/performance", params={"by": "department"}, headers=loop["op"]).json()["rows"]
    greening = next(r for r in rows if r["group"] == "greening-990101")
    assert (greening["cases"], greening["closure_rate"], greening["rework_rate"], greening["return_rate"],
            greening["satisfaction_rate"], greening["mean_rating"]) == (1, 1.0, 1.0, 0.0, 1.0, 5.0)
    by_area = client.get("/api/v1/reports/performance", params={"by": "area"}, headers=loop["op"]).json()["rows"]
    assert [r["group"] for r in by_area] == ["99010101"]  # never wider than the viewer's own street
    sheet = client.get("/api/v1/reports/performance", params={"format": "xlsx"}, headers=loop["op"])
    workbook = openpyxl.load_workbook(io.BytesIO(sheet.content))
    assert (workbook.active["A1"].value, workbook.active["B1"].value) == ("部门", "编码")
    assert workbook.active["B2"].value == "greening-990101" and workbook.active["A3"].value == "合计"
    bad = client.get("/api/v1/reports/performance", params={"start": "2025-02-01T00:00:00+08:00",
                                                            "end": "2025-01-01T00:00:00+08:00"}, headers=loop["op"])
    assert bad.status_code == 422 and bad.json()["field"] == "start"


def test_a_category_out_of_service_takes_no_new_cases(client: TestClient, loop: dict[str, Any],
                                                       session: Session) -> None:
    categories_service.update_category(session, code="E0199", active=False)
    before = session.scalar(select(func.count()).select_from(Case))
    refused = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "无主垃圾", "category_code": "E0199", **IN_STREET})
    assert refused.status_code == 422, refused.text
    assert (refused.json()["code"], refused.json()["field"]) == ("inactive_category", "category_code")
    assert session.scalar(select(func.count()).select_from(Case)) == before
    taken = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "暴露垃圾", "category_code": "E0102", **IN_STREET})
    assert taken.status_code == 201, taken.text
