"""The case action forms the staff flow does not reach, driven on screen in the console against the API:
merging a report into the duplicate the page suggests and unmerging it; summoning a department (the
list offers the district's bureaus that serve the street as well as the street's own office; a deadline
in the past is refused in Chinese words for the API's problem code, naming the department, and changes
nothing; a row filled in half is refused on the form beside it and nothing is sent) and that department's
handler reporting in; deferring and resuming; dispatching with an assisting department in series and
reassigning after a return; requesting, approving and denying an extension
(the deadline moves, and the page shows the original); a failed verification, refused without a reason
and sent back for rework with one.

A field an action cannot be sent without (a reason, the primary case, the deadline asked for, a department
summoned), left empty or holding blanks only, is asked for by its label next to it (请填写退回原因) before
anything is sent: no action reaches the API and the case is as it was.

The cases are made over the API (as the street's operator); every form is filled and sent on the case
page. After each, the API's case (status, the timeline's last action, its version) is what the page
shows, and the panel offers exactly the API's ``available_actions`` for that user.

The street's handler (``handler.street``) works for the street office, the department the matrix
proposes for shared bicycles parked anywhere (E0506, 属地兜底): the cases are of that category.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Request, expect

from tests.conftest import REPO
from tests.e2e.conftest import Screenshots, ServedCity, settled
from tests.e2e.test_staff_flow import DESK, Staff

STATUS = {"reported": "已受理", "registered": "已立案", "merged": "已合并", "dispatched": "已派遣",
          "returned": "已退回", "in_progress": "处置中", "handled": "已处置", "closed": "已结案"}
ACTION = {"intake": "受理", "register": "立案", "reject": "不予立案", "merge": "合并", "unmerge": "撤销合并",
          "dispatch": "派遣", "acknowledge": "签收", "return": "退回", "reassign": "改派", "report": "处置反馈",
          "verify": "核查",
          "request_extension": "申请延期", "approve_extension": "批准延期", "deny_extension": "驳回延期",
          "defer": "缓办", "resume": "恢复办理", "summon": "吹哨", "report_in": "报到"}
LATER = "2099-01-01 10:00"  # as the date-time pickers write it (YYYY-MM-DD HH:mm)
# what the console says, in Chinese, for each problem code the API answers with (in English)
PROBLEM_ZH = json.loads((REPO / "web" / "src" / "locales" / "zh-CN.json").read_text(encoding="utf-8"))["problem"]
# Places in the street about 110 m apart (off the street's centre, where other tests report), so that
# only the cases meant as duplicates look like one.
SPOTS = itertools.count()


@pytest.fixture(scope="module")
def desk(browser: Browser, served_city: ServedCity) -> Iterator[dict[str, Staff]]:
    """The street's operator, dispatcher, handler and inspector, each signed in at a desk."""
    staff = {role: Staff.at_a_desk(browser, served_city, role)
             for role in ("operator", "dispatcher", "handler", "inspector")}
    yield staff
    for member in staff.values():
        member.close()


def _spot(served_city: ServedCity) -> tuple[float, float]:
    lon, lat, _ = served_city.street
    n = next(SPOTS)
    return lon - 0.0007 + 0.0012 * (n % 3 - 1), lat + 0.0007 + 0.0012 * (n // 3 % 3 - 1) + 0.0002 * (n // 9)


def _new_case(operator: Staff, served_city: ServedCity, title: str, *, at: tuple[float, float] | None = None,
              steps: tuple[tuple[Staff, str, dict[str, Any]], ...] = ()) -> int:
    """A case reported on the hotline at ``at`` (or a spot of its own), taken through ``steps`` over the API."""
    lon, lat = at or _spot(served_city)
    made = operator.api.post("/api/v1/cases", json={"channel": "hotline_12345", "title": title,
                                                      "category_code": "E0506", "lon": lon, "lat": lat})
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    placed = operator.case(case_id)
    assert placed["area_code"] and not placed["placeholder"], placed  # in the street, not on a map's default
    for staff, action, body in steps:
        _api_act(staff, case_id, action, **body)
    return case_id


def _api_act(staff: Staff, case_id: int, action: str, **body: Any) -> dict[str, Any]:
    done = staff.api.post(f"/api/v1/cases/{case_id}/actions/{action}", json=body)
    assert done.status_code == 200, (action, done.text)
    return done.json()


def _open(staff: Staff, case_id: int) -> None:
    staff.page.goto(f"/console/cases/{case_id}")
    expect(staff.page.locator(".head .status")).to_be_visible()
    expect(staff.page.get_by_test_id("case-actions")).to_be_visible()


def _form(staff: Staff, action: str) -> Locator:
    """Open an action's form from the panel; the dialog."""
    staff.page.get_by_test_id("case-actions").locator(f"button[data-action={action}]").click()
    # its first field takes the focus once the dialog has faded in: settled, nothing is filled before
    return settled(staff.page.get_by_role("dialog", name=ACTION[action]))


def _send(dialog: Locator, action: str) -> None:
    dialog.get_by_role("button", name=f"确定{ACTION[action]}").click()


def _options(staff: Staff, dialog: Locator, label: str) -> Locator:
    """Open the select labelled ``label``; its own list (the listbox). Scoped to the list its box
    controls: another select's list may still be fading out, showing options of the same names."""
    box = dialog.get_by_label(label, exact=True)
    dialog.locator(".el-select").filter(has=staff.page.get_by_label(label, exact=True)).click()
    expect(box).to_have_attribute("aria-expanded", "true")
    return staff.page.locator(f"[id='{box.get_attribute('aria-controls')}']")


def _close_options(dialog: Locator, label: str) -> None:
    """Close the select's list by clicking the dialog's title, and wait until it is closed."""
    dialog.locator(".el-dialog__title").click()
    expect(dialog.get_by_label(label, exact=True)).to_have_attribute("aria-expanded", "false")


def _choose(staff: Staff, dialog: Locator, label: str, option: str) -> None:
    """Pick ``option`` in the select labelled ``label``."""
    _options(staff, dialog, label).get_by_role("option", name=option, exact=True).click()
    _close_options(dialog, label)


def _pick(dialog: Locator, label: str, value: str) -> None:
    """Type ``value`` (YYYY-MM-DD HH:mm; empty clears it) into the Element Plus date-time picker labelled
    ``label``, and leave it (a click on the dialog's title) so that it takes the value and closes its panel."""
    field = dialog.get_by_label(label, exact=True)
    field.fill(value)
    dialog.locator(".el-dialog__title").click()
    expect(field).to_have_value(value)


def _agrees(staff: Staff, case_id: int, *, status: str, action: str, version: int) -> dict[str, Any]:
    """The API's case is in ``status`` at ``version`` with ``action`` last; the page shows the same, and
    offers exactly the actions the API says this user may take now."""
    case = staff.case(case_id)
    last = case["timeline"][-1]
    assert (case["status"], last["action"], case["version"], last["version"]) == (status, action, version, version), (
        case["status"], last, case["version"])
    page = staff.page
    expect(page.locator(".head .status")).to_have_text(STATUS[status])
    timeline = page.get_by_role("region", name="办理过程").locator("ol > li")
    expect(timeline).to_have_count(len(case["timeline"]))
    expect(timeline.last.locator(".action")).to_have_text(ACTION[action])
    buttons = page.get_by_test_id("case-actions").locator("button[data-action]")
    expect(buttons).to_have_count(len(case["available_actions"]))
    assert sorted(b.get_attribute("data-action") for b in buttons.all()) == sorted(case["available_actions"])
    expect(page.locator(".head .flag", has_text="缓办中")).to_have_count(1 if case["deferred"] else 0)
    return case


def _cancel(dialog: Locator) -> None:
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()


def _unchanged(staff: Staff, case_id: int, before: dict[str, Any]) -> None:
    after = staff.case(case_id)
    assert (after["version"], after["status"], after["deferred"]) == (
        before["version"], before["status"], before["deferred"])


@contextmanager
def _nothing_sent(staff: Staff) -> Iterator[None]:
    """The block sends no action to the API from ``staff``'s page (a form that refused on its own)."""
    sent: list[str] = []

    def seen(request: Request) -> None:
        if request.method == "POST" and "/actions/" in request.url:
            sent.append(request.url)

    staff.page.on("request", seen)
    try:
        yield
    finally:
        staff.page.remove_listener("request", seen)
    assert not sent, sent


def _asked_for(dialog: Locator, label: str, *, focused: bool = True) -> None:
    """The field labelled ``label`` asks for itself: 请填写 and its label next to it, announced, the field
    marked invalid and described by it (among what else describes it: the handling report's note that it
    is public) and holding the focus, as the first field refused."""
    field = dialog.get_by_label(label)  # its label ends in * (必填)
    asked = dialog.get_by_role("alert").filter(has_text=f"请填写{label}")
    expect(asked).to_have_count(1)
    expect(field).to_have_attribute("aria-invalid", "true")
    error_id = re.escape(asked.get_attribute("id"))
    expect(field).to_have_attribute("aria-describedby", re.compile(rf"(^| ){error_id}( |$)"))
    if focused:
        expect(field).to_be_focused()


def _shot(staff: Staff, shots: Screenshots, step: str) -> None:
    """A screenshot once the dialog has finished fading in."""
    staff.page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")
    staff.shot(shots, step)


def _same_instant(one: str, other: str) -> bool:
    return datetime.fromisoformat(one) == datetime.fromisoformat(other)


def _shown_time(staff: Staff, iso: str) -> str:
    """An instant as the console writes it (format.ts's formatTime, in the page's language and zone)."""
    return staff.page.evaluate("iso => new Intl.DateTimeFormat('zh-CN', {year: 'numeric', month: '2-digit', "
                               "day: '2-digit', hour: '2-digit', minute: '2-digit'}).format(new Date(iso))", iso)


def test_merge_unmerge_summon_report_in_defer_and_resume(desk: dict[str, Staff], served_city: ServedCity) -> None:
    shots = Screenshots("action-form")
    operator, dispatcher, handler = desk["operator"], desk["dispatcher"], desk["handler"]
    office = handler.me["department_code"]
    assert office, "the street's handler works for a department"
    office_name = next(d["name"] for d in operator.api.get("/api/v1/departments").json() if d["code"] == office)

    # merge: a second report of the same thing 20 m away, worded differently enough not to be merged at
    # intake; the form offers the first as a duplicate
    lon, lat = _spot(served_city)
    primary = _new_case(operator, served_city, "共享单车堆放堵塞盲道", at=(lon, lat))
    case_id = _new_case(operator, served_city, "路口自行车乱停", at=(lon + 0.0002, lat))
    reported = operator.case(case_id)
    assert primary in [d["candidate_id"] for d in reported["duplicates"]], reported["duplicates"]
    _open(operator, case_id)
    _agrees(operator, case_id, status="reported", action="intake", version=reported["version"])
    dialog = _form(operator, "merge")
    # no primary case: the form asks for it beside the field, and sends nothing
    dialog.get_by_label("合并理由").fill("同一地点同一问题的重复上报")
    with _nothing_sent(operator):
        _send(dialog, "merge")
        _asked_for(dialog, "主案件编号")
    _unchanged(operator, case_id, reported)
    primary_code = operator.case(primary)["tracking_code"]
    # the primary is named by its 案件编号, as the case page shows it; one that names no case is refused there
    dialog.get_by_label("主案件编号").fill("NOSUCHCODE")
    _send(dialog, "merge")
    expect(dialog.get_by_role("alert").filter(has_text="案件不存在")).to_have_count(1)
    expect(dialog.get_by_label("主案件编号")).to_have_attribute("aria-invalid", "true")
    _unchanged(operator, case_id, reported)
    suggestion = dialog.get_by_role("button", name=re.compile(rf"^{primary_code} "))
    expect(suggestion).to_have_attribute("aria-pressed", "false")
    suggestion.click()
    expect(suggestion).to_have_attribute("aria-pressed", "true")
    expect(dialog.get_by_label("主案件编号")).to_have_value(primary_code)
    _shot(operator, shots, "merge")
    _send(dialog, "merge")
    expect(dialog).to_be_hidden()
    merged = _agrees(operator, case_id, status="merged", action="merge", version=reported["version"] + 1)
    assert merged["duplicate_of"] == primary and merged["timeline"][-1]["data"]["primary"] == primary
    # the case it follows, and its timeline's merge, name the primary by its tracking code, linked to it
    expect(operator.page.locator(".follows").get_by_role("link", name=primary_code, exact=True)).to_be_visible()
    expect(operator.page.locator(".follows")).not_to_contain_text(f"#{primary}")
    merge_entry = operator.page.locator(".timeline > li").last
    expect(merge_entry.locator(".merged-with")).to_have_text(f"并入案件 {primary_code}")
    expect(merge_entry.get_by_role("link", name=primary_code, exact=True)).to_have_attribute(
        "href", f"/console/cases/{primary}")

    # unmerge, with a reason
    dialog = _form(operator, "unmerge")
    dialog.get_by_label("撤销合并理由").fill("位置不同，是两处问题")
    _shot(operator, shots, "unmerge")
    _send(dialog, "unmerge")
    expect(dialog).to_be_hidden()
    unmerged = _agrees(operator, case_id, status="reported", action="unmerge", version=merged["version"] + 1)
    assert unmerged["duplicate_of"] is None and unmerged["timeline"][-1]["reason"] == "位置不同，是两处问题"
    expect(operator.page.locator(".follows")).to_have_count(0)
    expect(operator.page.locator(".timeline > li").last.locator(".merged-with")).to_have_text(
        f"原并入案件 {primary_code}")

    # summon: the deadline is a date-time picker like the other forms' (no browser's own box), offering two
    # hours from now; an empty summons is asked for once and not sent, a deadline in the past is refused in
    # Chinese; nothing changes
    registered = _api_act(operator, case_id, "register")
    _open(operator, case_id)
    opened = datetime.now().astimezone()
    dialog = _form(operator, "summon")
    expect(dialog.locator("input[type=datetime-local]")).to_have_count(0)
    deadline_box = dialog.get_by_label("部门 1 报到时限", exact=True)
    expect(deadline_box).to_have_class(re.compile(r"\bel-input__inner\b"))
    offered_at = datetime.strptime(deadline_box.input_value(), "%Y-%m-%d %H:%M").astimezone()
    assert timedelta(minutes=119) <= offered_at - opened <= timedelta(minutes=131), offered_at
    dialog.get_by_label("吹哨事由").fill("盲道长期被占，吹哨属地")
    with _nothing_sent(operator):
        _send(dialog, "summon")
        error = dialog.get_by_role("alert").filter(has_text="请填写被吹哨部门及报到时限")
        expect(error).to_be_visible()
        expect(dialog.get_by_role("alert")).to_have_count(1)
        expect(dialog.get_by_label("部门 1", exact=True)).to_have_attribute("aria-invalid", "true")
        expect(dialog.get_by_label("部门 1", exact=True)).to_be_focused()
    _unchanged(operator, case_id, registered)
    # the street summons the district's bureaus too: the list offers those serving the case's street,
    # beyond the street's own departments
    own = {d["code"] for d in operator.api.get("/api/v1/departments").json()}
    serving = operator.api.get("/api/v1/departments", params={"serving": registered["area_code"]}).json()
    bureau = next(d for d in serving if d["level"] == "district" and d["code"] not in own)
    offered = _options(operator, dialog, "部门 1").get_by_role("option")
    expect(offered).to_have_count(len(serving))
    expect(offered.filter(has_text=bureau["name"])).to_have_count(1)
    _close_options(dialog, "部门 1")
    _choose(operator, dialog, "部门 1", office_name)
    _pick(dialog, "部门 1 报到时限", f"{opened:%Y-%m-%d} 00:00")  # today, already past
    _send(dialog, "summon")
    # the department by its name, never its code
    too_early = PROBLEM_ZH["deadline_before_summons"].replace("{department_name}", office_name)
    expect(dialog.get_by_role("alert").filter(has_text=too_early)).to_be_visible()
    expect(dialog.get_by_role("alert").filter(has_text=office)).to_have_count(0)
    expect(error).to_be_hidden()
    _unchanged(operator, case_id, registered)
    chosen = (opened + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    _pick(dialog, "部门 1 报到时限", f"{chosen:%Y-%m-%d %H:%M}")
    _shot(operator, shots, "summon")
    _send(dialog, "summon")
    expect(dialog).to_be_hidden()
    summoned = _agrees(operator, case_id, status="registered", action="summon", version=registered["version"] + 1)
    (department, deadline), = summoned["timeline"][-1]["data"]["departments"].items()
    assert department == office and datetime.fromisoformat(deadline) == chosen
    # the time limits show the summoned department, due at the time chosen, and the time that gave (hours and
    # minutes: never rounded up to whole hours)
    (report_in,) = [row for row in summoned["deadlines"] if row["step"] == "report_in"]
    assert datetime.fromisoformat(report_in["due_at"]) == chosen
    minutes = -(-(chosen - datetime.fromisoformat(report_in["started_at"])) // timedelta(minutes=1))
    row = operator.page.get_by_role("region", name="办理时限").locator("tbody tr").filter(has_text="吹哨报到")
    expect(row).to_contain_text(office_name)
    expect(row).to_contain_text(_shown_time(operator, chosen.isoformat()))
    limit = f"{minutes // 60} 小时" + (f" {minutes % 60} 分钟" if minutes % 60 else "")
    expect(row.locator("td").nth(1)).to_have_text(limit)

    # the summoned department's handler reports in
    _open(handler, case_id)
    _agrees(handler, case_id, status="registered", action="summon", version=summoned["version"])
    dialog = _form(handler, "report_in")
    dialog.get_by_label("说明").fill("已到现场")
    _shot(handler, shots, "report-in")
    _send(dialog, "report_in")
    expect(dialog).to_be_hidden()
    here = _agrees(handler, case_id, status="registered", action="report_in", version=summoned["version"] + 1)
    assert here["timeline"][-1]["actor_department"] == office

    # defer, then resume (the dispatcher)
    _open(dispatcher, case_id)
    _agrees(dispatcher, case_id, status="registered", action="report_in", version=here["version"])
    dialog = _form(dispatcher, "defer")
    _pick(dialog, "缓办至（选填）", LATER)
    dialog.get_by_label("缓办理由").fill("等待道路施工结束")
    _shot(dispatcher, shots, "defer")
    _send(dialog, "defer")
    expect(dialog).to_be_hidden()
    deferred = _agrees(dispatcher, case_id, status="registered", action="defer", version=here["version"] + 1)
    assert deferred["deferred"] is True
    dialog = _form(dispatcher, "resume")
    _shot(dispatcher, shots, "resume")
    _send(dialog, "resume")
    expect(dialog).to_be_hidden()
    resumed = _agrees(dispatcher, case_id, status="registered", action="resume", version=deferred["version"] + 1)
    assert resumed["deferred"] is False


def test_a_half_filled_summons_row_is_refused_beside_it_and_nothing_is_sent(desk: dict[str, Staff],
                                                                           served_city: ServedCity) -> None:
    """A summons row with a deadline and no department was left out without a word (and the rest sent): the
    form now refuses it, and a department without a deadline (its picker cleared) or named twice, each next to
    its row, once. A row holding only the deadline it was offered summons nobody and is left out."""
    operator, handler = desk["operator"], desk["handler"]
    office = handler.me["department_code"]
    office_name = next(d["name"] for d in operator.api.get("/api/v1/departments").json() if d["code"] == office)
    case_id = _new_case(operator, served_city, "单车倒伏挡住人行道", steps=((operator, "register", {}),))
    registered = operator.case(case_id)
    _open(operator, case_id)
    posted: list[str] = []

    def post_seen(request: Request) -> None:
        if request.method == "POST":
            posted.append(request.url)

    operator.page.on("request", post_seen)

    dialog = _form(operator, "summon")
    dialog.get_by_label("吹哨事由").fill("单车长期占道，吹哨属地")
    _pick(dialog, "部门 1 报到时限", LATER)  # a deadline, no department
    dialog.get_by_role("button", name="增加部门").click()
    _choose(operator, dialog, "部门 2", office_name)  # a department, no deadline
    _pick(dialog, "部门 2 报到时限", "")
    dialog.get_by_role("button", name="增加部门").click()
    _choose(operator, dialog, "部门 3", office_name)  # the same department again, with a deadline
    _pick(dialog, "部门 3 报到时限", LATER)
    dialog.get_by_role("button", name="增加部门").click()  # untouched: offered a deadline, names nobody
    _send(dialog, "summon")

    refusals = {1: ("部门 1：已填写报到时限，请选择被吹哨的部门，或移除这一行。", "部门 1"),
                2: ("部门 2：请填写完整的报到时限（日期和时间）。", "部门 2 报到时限"),
                3: ("部门 3：该部门已在前面的行中，请另选部门或移除这一行。", "部门 3")}
    for n, (text, invalid) in refusals.items():
        error = dialog.get_by_test_id(f"summons-{n - 1}-error")
        expect(error).to_have_text(text)
        expect(error).to_have_attribute("role", "alert")
        error_id = error.get_attribute("id")
        for field in (f"部门 {n}", f"部门 {n} 报到时限"):
            expect(dialog.get_by_label(field, exact=True)).to_have_attribute("aria-describedby", error_id)
        expect(dialog.get_by_label(invalid, exact=True)).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_test_id("summons-3-error")).to_have_count(0)
    expect(dialog.get_by_role("alert")).to_have_count(3)  # each said once
    expect(dialog.get_by_label("部门 1", exact=True)).to_be_focused()  # the first refused field
    _shot(operator, Screenshots("action-form"), "summons-half-filled")
    operator.page.remove_listener("request", post_seen)
    assert not [url for url in posted if "/actions/" in url], posted
    _agrees(operator, case_id, status="registered", action="register", version=registered["version"])
    assert operator.case(case_id)["timeline"] == registered["timeline"]

    # without the deadline-only row and the repeated one, the department left is refused until it has its
    # deadline, then summoned
    dialog.get_by_role("button", name="移除部门 4").click()
    dialog.get_by_role("button", name="移除部门 3").click()
    dialog.get_by_role("button", name="移除部门 1").click()
    expect(dialog.get_by_role("alert")).to_have_count(1)
    expect(dialog.get_by_role("alert")).to_have_text("部门 1：请填写完整的报到时限（日期和时间）。")
    expect(dialog.locator(".summons-row")).to_have_count(1)
    expect(dialog.locator(".summons-row")).to_contain_text(office_name)
    _pick(dialog, "部门 1 报到时限", LATER)
    _send(dialog, "summon")
    expect(dialog).to_be_hidden()
    summoned = _agrees(operator, case_id, status="registered", action="summon", version=registered["version"] + 1)
    (department, deadline), = summoned["timeline"][-1]["data"]["departments"].items()
    assert department == office and deadline.startswith("2099-01-01")


def test_a_reason_left_empty_or_blank_is_asked_for_beside_it_and_nothing_is_sent(desk: dict[str, Staff],
                                                                                 served_city: ServedCity) -> None:
    """A return, a handling report, an extension request or a rejection without its reason (or the deadline
    asked for) was sent, and only the API's refusal came back: the form now asks for each such field by its
    label next to it, blanks alone counting as empty, sends nothing, and the case stays as it was. With the
    reason given, the same form is sent."""
    operator, dispatcher, handler = desk["operator"], desk["dispatcher"], desk["handler"]
    office = handler.me["department_code"]
    case_id = _new_case(operator, served_city, "单车堆满非机动车道", steps=(
        (operator, "register", {}), (dispatcher, "dispatch", {"data": {"lead": office}}),
        (handler, "acknowledge", {})))
    working = handler.case(case_id)
    _open(handler, case_id)

    with _nothing_sent(handler):
        dialog = _form(handler, "return")
        _send(dialog, "return")
        _asked_for(dialog, "退回原因")
        dialog.get_by_label("退回原因").fill("  \n  ")  # blanks are no reason
        _send(dialog, "return")
        _asked_for(dialog, "退回原因")
        _shot(handler, Screenshots("action-form"), "return-without-reason")
        _cancel(dialog)

        dialog = _form(handler, "report")
        dialog.get_by_label("处置情况").fill("\u3000")  # nor is an ideographic space
        _send(dialog, "report")
        _asked_for(dialog, "处置情况")
        _cancel(dialog)

        dialog = _form(handler, "request_extension")
        _send(dialog, "request_extension")
        _asked_for(dialog, "申请延期至")  # the first field refused takes the focus
        _asked_for(dialog, "延期理由", focused=False)
        _cancel(dialog)
    _unchanged(handler, case_id, working)
    assert handler.case(case_id)["timeline"] == working["timeline"]

    # given its reason, the return is sent; the form's request no longer stands once the field is filled
    dialog = _form(handler, "return")
    _send(dialog, "return")
    _asked_for(dialog, "退回原因")
    dialog.get_by_label("退回原因").fill("  非本部门职责 ")
    _send(dialog, "return")
    expect(dialog).to_be_hidden()
    returned = _agrees(handler, case_id, status="returned", action="return", version=working["version"] + 1)
    assert returned["timeline"][-1]["reason"] == "非本部门职责"

    # the centre's refusal to register a report needs its reason as well
    reported_id = _new_case(operator, served_city, "单车压坏绿化带")
    reported = operator.case(reported_id)
    _open(operator, reported_id)
    with _nothing_sent(operator):
        dialog = _form(operator, "reject")
        dialog.get_by_label("不予立案原因").fill("   ")
        _send(dialog, "reject")
        _asked_for(dialog, "不予立案原因")
    _unchanged(operator, reported_id, reported)
    assert operator.case(reported_id)["timeline"] == reported["timeline"]


def test_dispatch_in_series_with_an_assisting_department_and_reassign_after_a_return(
        desk: dict[str, Staff], served_city: ServedCity) -> None:
    shots = Screenshots("action-form")
    operator, dispatcher, handler = desk["operator"], desk["dispatcher"], desk["handler"]
    case_id = _new_case(operator, served_city, "单车横在路口", steps=((operator, "register", {}),))
    case = operator.case(case_id)
    route = dispatcher.api.get("/api/v1/responsibilities/route",
                               params={"category": "E0506", "area": case["area_code"]}).json()
    lead = route["lead"]["code"]
    assert lead == handler.me["department_code"]
    departments = dispatcher.api.get("/api/v1/departments").json()
    names = [d["name"] for d in departments]
    helper = next(d for d in departments if d["code"] != lead and names.count(d["name"]) == 1)

    _open(dispatcher, case_id)
    dialog = _form(dispatcher, "dispatch")
    expect(dialog.get_by_test_id("route-proposal")).to_contain_text(route["lead"]["name"])
    _choose(dispatcher, dialog, "协办部门", helper["name"])
    dialog.get_by_label("串联（依次办理）").check()
    _shot(dispatcher, shots, "dispatch-serial")
    _send(dialog, "dispatch")
    expect(dialog).to_be_hidden()
    sent = _agrees(dispatcher, case_id, status="dispatched", action="dispatch", version=case["version"] + 1)
    assert sent["timeline"][-1]["data"]["mode"] == "serial"
    assert {a["department_code"]: (a["role"], a["status"]) for a in sent["assignments"]} == {
        lead: ("lead", "dispatched"), helper["code"]: ("assisting", "waiting")}
    rows = dispatcher.page.get_by_role("region", name="处置部门").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=helper["name"])).to_contain_text("等待")
    # the timeline says whom the dispatch named, and how
    entry = dispatcher.page.get_by_role("region", name="办理过程").locator("ol > li").last
    expect(entry.locator(".fact")).to_have_text([f"主办：{route['lead']['name']}", f"协办：{helper['name']}（串联）"])

    # the lead's handler returns it; the dispatcher reassigns it
    _open(handler, case_id)
    dialog = _form(handler, "return")
    dialog.get_by_label("退回原因").fill("路口属交警管理")
    _send(dialog, "return")
    expect(dialog).to_be_hidden()
    returned = _agrees(handler, case_id, status="returned", action="return", version=sent["version"] + 1)
    assert returned["timeline"][-1]["data"]["withdrawn"] == [helper["code"]]
    _open(dispatcher, case_id)
    _agrees(dispatcher, case_id, status="returned", action="return", version=returned["version"])
    # the return withdrew the assisting department's part: nobody waits to act on a returned case
    expect(rows.filter(has_text=helper["name"])).to_contain_text("已撤回")
    expect(rows.filter(has_text=route["lead"]["name"])).to_contain_text("已退回")
    entry = dispatcher.page.get_by_role("region", name="办理过程").locator("ol > li").last
    expect(entry.locator(".fact")).to_have_text(f"撤回：{helper['name']}")
    dialog = _form(dispatcher, "reassign")
    with _nothing_sent(dispatcher):
        _send(dialog, "reassign")  # a reassignment needs a reason
        _asked_for(dialog, "改派理由")
    _unchanged(dispatcher, case_id, returned)
    dialog.get_by_label("改派理由").fill("仍属街道属地管理，请再处置")
    _shot(dispatcher, shots, "reassign")
    _send(dialog, "reassign")
    expect(dialog).to_be_hidden()
    again = _agrees(dispatcher, case_id, status="dispatched", action="reassign", version=returned["version"] + 1)
    assert again["timeline"][-1]["data"]["lead"] == lead
    assert again["assignments"][0] == {"department_code": lead, "role": "lead", "position": 0, "status": "dispatched"}
    assert {a["status"] for a in again["assignments"][1:]} <= {"dispatched", "waiting"}  # a fresh roster

    # in series the lead's report hands the case on: its timeline entry names the department it went to
    handed_on = _new_case(operator, served_city, "共享单车堆满路口", steps=(
        (operator, "register", {}),
        (dispatcher, "dispatch", {"data": {"lead": lead, "assisting": [helper["code"]], "mode": "serial"}}),
        (handler, "acknowledge", {}), (handler, "report", {"reason": "已清走路口单车"})))
    assert dispatcher.case(handed_on)["timeline"][-1]["data"]["next_department"] == helper["code"]
    _open(dispatcher, handed_on)
    entry = dispatcher.page.get_by_role("region", name="办理过程").locator("ol > li").last
    expect(entry.locator(".fact")).to_have_text(f"转下一协办：{helper['name']}")


def test_registering_files_an_uncategorised_report_under_the_category_chosen(desk: dict[str, Staff],
                                                                           served_city: ServedCity) -> None:
    shots = Screenshots("action-form")
    operator = desk["operator"]
    lon, lat = _spot(served_city)
    made = operator.api.post("/api/v1/cases", json={
        "channel": "hotline_12345", "title": "单车堆在小区门口", "description": "共享单车乱停放，堵住了出入口",
        "lon": lon, "lat": lat})
    assert made.status_code == 201, made.text
    case = made.json()
    assert case["category_code"] is None
    suggested = case["timeline"][0]["data"].get("suggested_categories", [])
    category = operator.api.get("/api/v1/categories/E0506").json()

    _open(operator, case["id"])
    dialog = _form(operator, "register")
    # the classifier's suggestions, when the city has a model (the demo city's), are offered to pick from
    expect(dialog.locator(".suggestions .chip")).to_have_count(len(suggested))
    _choose(operator, dialog, "案件分类", f"{category['name']}（E0506）")
    _shot(operator, shots, "register-category")
    _send(dialog, "register")
    expect(dialog).to_be_hidden()
    registered = _agrees(operator, case["id"], status="registered", action="register", version=case["version"] + 1)
    assert registered["category_code"] == "E0506"
    assert registered["timeline"][-1]["data"] == {"category": "E0506"}
    expect(operator.page.locator(".head")).to_contain_text(category["name"])
    timeline = operator.page.get_by_role("region", name="办理过程").locator("ol > li")
    expect(timeline.last.locator(".fact")).to_have_text(f"分类：{category['name']}")


def test_a_district_bureau_on_a_street_case_is_named_though_the_street_list_leaves_it_out(
        desk: dict[str, Staff], served_city: ServedCity) -> None:
    operator, dispatcher = desk["operator"], desk["dispatcher"]
    case_id = _new_case(operator, served_city, "单车倒在人行道", steps=((operator, "register", {}),))
    own = {d["code"] for d in dispatcher.api.get("/api/v1/departments").json()}
    serving = dispatcher.api.get("/api/v1/departments", params={"serving": operator.case(case_id)["area_code"],
                                                                "level": "district"}).json()
    bureau = next(d for d in serving if d["code"] not in own)
    _api_act(dispatcher, case_id, "dispatch", data={"lead": bureau["code"]})

    _open(operator, case_id)
    rows = operator.page.get_by_role("region", name="处置部门").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").first).to_have_text(bureau["name"])


def test_a_refusal_is_told_in_the_language_of_the_page(desk: dict[str, Staff], browser: Browser,
                                                       served_city: ServedCity) -> None:
    """Two desks register one report at once: the second is refused, in Chinese words for the API's
    problem code on a Chinese page, in the API's own words on an English one."""
    operator = desk["operator"]
    case_id = _new_case(operator, served_city, "单车挡住盲道")
    _open(operator, case_id)
    dialog = _form(operator, "register")
    _api_act(operator, case_id, "register")  # at the other desk, meanwhile
    _send(dialog, "register")
    problem = operator.api.post(f"/api/v1/cases/{case_id}/actions/register", json={}).json()
    assert problem["code"] in PROBLEM_ZH, problem
    expect(dialog.get_by_test_id("action-error")).to_have_text(f"操作未完成，案件没有改变：{PROBLEM_ZH[problem['code']]}")
    _unchanged(operator, case_id, operator.case(case_id))

    english = Staff(browser.new_page(base_url=served_city.url, locale="en", **DESK), served_city, "operator",
                    english=True)
    try:
        other_id = _new_case(operator, served_city, "单车挡住消防栓")
        _open(english, other_id)
        english.page.get_by_test_id("case-actions").locator("button[data-action=register]").click()
        dialog = english.page.get_by_role("dialog", name="Register")
        _api_act(operator, other_id, "register")
        dialog.get_by_role("button", name="Register", exact=True).click()
        again = operator.api.post(f"/api/v1/cases/{other_id}/actions/register", json={}).json()
        expect(dialog.get_by_test_id("action-error")).to_have_text(
            f"Not done, the case is unchanged: {again['detail']}")
    finally:
        english.close()


def test_extensions_approved_and_denied_and_a_failed_verification(desk: dict[str, Staff],
                                                                  served_city: ServedCity) -> None:
    shots = Screenshots("action-form")
    operator, dispatcher, handler, inspector = (desk[r] for r in ("operator", "dispatcher", "handler", "inspector"))
    office = handler.me["department_code"]
    working = ((operator, "register", {}), (dispatcher, "dispatch", {"data": {"lead": office}}),
               (handler, "acknowledge", {}))
    case_id = _new_case(operator, served_city, "单车占用消防通道", steps=working)
    other_id = _new_case(operator, served_city, "单车堆在公交站", steps=working)

    # the handler asks for more time
    _open(handler, case_id)
    before = handler.case(case_id)
    due = before["deadlines"][-1]["due_at"]
    dialog = _form(handler, "request_extension")
    dialog.get_by_label("延期理由").fill("需协调运营企业统一清运")
    with _nothing_sent(handler):
        _send(dialog, "request_extension")  # without the date asked for
        _asked_for(dialog, "申请延期至")
        expect(dialog.locator("#action-request_extension-until-error")).to_have_text("请填写申请延期至")
    _unchanged(handler, case_id, before)
    _pick(dialog, "申请延期至 *", LATER)
    _shot(handler, shots, "request-extension")
    _send(dialog, "request_extension")
    expect(dialog).to_be_hidden()
    asked = _agrees(handler, case_id, status="in_progress", action="request_extension", version=before["version"] + 1)
    asked_until = asked["timeline"][-1]["data"]["until"]
    as_picked = handler.page.evaluate("local => new Date(local.replace(' ', 'T')).toISOString()", LATER)
    assert _same_instant(asked_until, as_picked)

    # the dispatcher approves it: the deadline moves, the page shows the original
    _open(dispatcher, case_id)
    _agrees(dispatcher, case_id, status="in_progress", action="request_extension", version=asked["version"])
    dialog = _form(dispatcher, "approve_extension")
    request = dialog.get_by_test_id("extension-request")  # what was asked, seen before deciding
    expect(request).to_contain_text(f"申请延期至{_shown_time(dispatcher, asked_until)}")
    expect(request).to_contain_text("延期理由需协调运营企业统一清运")
    _shot(dispatcher, shots, "approve-extension")
    _send(dialog, "approve_extension")
    expect(dialog).to_be_hidden()
    granted = _agrees(dispatcher, case_id, status="in_progress", action="approve_extension",
                      version=asked["version"] + 1)
    handle = granted["deadlines"][-1]
    assert handle["original_due_at"] == due and _same_instant(handle["due_at"], asked_until), handle
    row = dispatcher.page.get_by_role("region", name="办理时限").locator("tbody tr").last
    expect(row).to_contain_text(_shown_time(dispatcher, handle["due_at"]))
    expect(row).to_contain_text(f"已延期，原截止 {_shown_time(dispatcher, due)}")

    # on the other case the dispatcher denies it, with a reason
    _api_act(handler, other_id, "request_extension", reason="需要更多时间", data={"until": "2099-01-01T00:00:00+08:00"})
    _open(dispatcher, other_id)
    pending = dispatcher.case(other_id)
    dialog = _form(dispatcher, "deny_extension")
    expect(dialog.get_by_test_id("extension-request")).to_contain_text("延期理由需要更多时间")
    dialog.get_by_label("驳回理由").fill("时限内可以完成")
    _shot(dispatcher, shots, "deny-extension")
    _send(dialog, "deny_extension")
    expect(dialog).to_be_hidden()
    denied = _agrees(dispatcher, other_id, status="in_progress", action="deny_extension",
                     version=pending["version"] + 1)
    assert denied["deadlines"][-1]["original_due_at"] is None
    assert denied["deadlines"][-1]["due_at"] == pending["deadlines"][-1]["due_at"]
    expect(dispatcher.page.get_by_role("region", name="办理时限")).not_to_contain_text("已延期")

    # a failed verification: refused without a reason, back to the department (rework) with one
    handled = _api_act(handler, case_id, "report", reason="已清运")
    assert handled["status"] == "handled"
    _open(inspector, case_id)
    dialog = _form(inspector, "verify")
    dialog.get_by_label("不通过，退回重新处置").check()
    with _nothing_sent(inspector):
        _send(dialog, "verify")
        _asked_for(dialog, "未通过原因（仍存在的问题）")
        expect(dialog.get_by_test_id("reason-error")).to_have_text("请填写未通过原因（仍存在的问题）")
    _shot(inspector, shots, "verify-failed-without-reason")
    _unchanged(inspector, case_id, handled)
    dialog.get_by_label("未通过原因（仍存在的问题）").fill("消防通道仍有三辆单车")
    _shot(inspector, shots, "verify-failed")
    _send(dialog, "verify")
    expect(dialog).to_be_hidden()
    rework = _agrees(inspector, case_id, status="in_progress", action="verify", version=handled["version"] + 1)
    assert rework["timeline"][-1]["data"] == {"passed": False} and rework["rework_count"] == 1
    expect(inspector.page.locator(".head .flag", has_text="返工")).to_have_count(1)


def test_the_time_limits_tell_a_step_a_return_ended_and_the_rounds_of_dispatch(desk: dict[str, Staff],
                                                                               served_city: ServedCity) -> None:
    """A return by the assisting department ends the handling step undone: the time limits say 已退回, who
    returned and whose part it withdrew, never 已完成; after the reassignment the steps met again say which
    dispatch they belong to and its lead."""
    operator, dispatcher, handler = desk["operator"], desk["dispatcher"], desk["handler"]
    office = handler.me["department_code"]
    names = {d["code"]: d["name"] for d in operator.api.get("/api/v1/departments").json()}
    case_id = _new_case(operator, served_city, "窨井盖缺失", steps=((operator, "register", {}),))
    serving = operator.api.get("/api/v1/departments", params={"serving": operator.case(case_id)["area_code"]}).json()
    bureau = next(d for d in serving if d["level"] == "district" and d["code"] != office)
    names |= {d["code"]: d["name"] for d in serving}
    _api_act(dispatcher, case_id, "dispatch", data={"lead": bureau["code"], "assisting": [office]})
    _api_act(handler, case_id, "acknowledge")
    returned = _api_act(handler, case_id, "return", reason="非本单位职责")
    _api_act(dispatcher, case_id, "reassign", reason="改由街道主办", data={"lead": office})
    again = _api_act(handler, case_id, "acknowledge")
    assert [(d["step"], d["ended"], d["round"]) for d in again["deadlines"]] == [
        ("register", "met", None), ("dispatch", "met", 1), ("acknowledge", "met", 1), ("handle", "returned", 1),
        ("dispatch", "met", 2), ("acknowledge", "met", 2), ("handle", None, 2)]

    _open(dispatcher, case_id)
    rows = dispatcher.page.get_by_role("region", name="办理时限").locator("tbody tr")
    expect(rows).to_have_count(7)
    handled = rows.nth(3)
    status = handled.locator("td").last
    expect(status).to_contain_text(f"已退回于 {_shown_time(dispatcher, returned['timeline'][-1]['at'])}")
    expect(status).to_contain_text(f"{names[office]}退回")
    expect(status).to_contain_text(f"撤回：{names[bureau['code']]}")
    expect(status).not_to_contain_text("已完成")
    expect(handled.locator("td").first).to_contain_text(f"第 1 次派遣主办：{names[bureau['code']]}")
    for index in (4, 5, 6):
        expect(rows.nth(index).locator("td").first).to_contain_text("第 2 次派遣")
    expect(rows.nth(5).locator("td").first).to_contain_text(f"主办：{names[office]}")
    # each time limit reads on one line, on a laptop too: beside the steps' context 1 个工作时 broke as 1 个工作 / 时
    limits = rows.locator("td:nth-child(2)")
    expect(limits.first).to_have_text(re.compile(r"^\d+ 个工作时$"))  # registering's, in working hours
    assert limits.evaluate_all("""(cells) => cells.map((cell) => {
        const text = document.createRange()
        text.selectNodeContents(cell)
        return text.getClientRects().length
    })""") == [1] * 7
    _shot(dispatcher, Screenshots("action-form"), "time-limits-after-a-return")
