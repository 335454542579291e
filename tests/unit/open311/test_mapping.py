"""How Open311 maps onto the closed loop: statuses, notes, titles, submissions and query filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cityops.cases.lifecycle import Action, CaseStatus
from cityops.errors import InvalidInput
from cityops.open311 import mapping

NOW = datetime(2025, 5, 20, 12, 0, tzinfo=UTC)
FORM = {"service_code": "E0102", "lat": "31.05", "long": "121.02"}


def test_only_closed_rejected_and_merged_cases_are_closed() -> None:
    closed = {s for s in CaseStatus if mapping.public_status(s) == "closed"}
    assert closed == {CaseStatus.closed, CaseStatus.rejected, CaseStatus.merged}
    assert {mapping.public_status(s) for s in set(CaseStatus) - closed} == {"open"}
    assert set(mapping.STATUS_WORDS) == set(CaseStatus)


def test_status_notes_show_public_reasons_only() -> None:
    assert mapping.status_notes(CaseStatus.rejected, action=Action.reject, reason="重复", duplicate_of=None) == \
        "not accepted: 重复"
    assert mapping.status_notes(CaseStatus.returned, action=Action.return_, reason="不归我们管",
                                duplicate_of=None) == "being sent to another department"
    assert mapping.status_notes(CaseStatus.dispatched, action=Action.dispatch, reason="matrix 990101",
                                duplicate_of=None) == "sent to the responsible department"
    assert mapping.status_notes(CaseStatus.merged, action=Action.merge, reason="score 0.9", duplicate_of=12) == \
        "a duplicate of request 12, which is followed instead"
    assert mapping.status_notes(CaseStatus.closed, action=Action.verify, reason=None, duplicate_of=None) == "closed"


def test_the_title_is_the_first_line_or_the_service_name() -> None:
    assert mapping.title_for("\n  路灯不亮  \n三天了", "路灯") == "路灯不亮"
    assert mapping.title_for("   \n", "路灯") == "路灯"
    assert len(mapping.title_for("长" * 500, "路灯")) == mapping.TITLE_LENGTH


def test_a_submission_is_checked_and_empty_fields_count_as_absent() -> None:
    checked = mapping.submission({**FORM, "first_name": " Lei ", "last_name": "Wang", "phone": "+86 138 0013 8000",
                                  "email": "", "description": "垃圾", "media_url": "https://x.cn/1.jpg"})
    assert (checked.lat, checked.lon, checked.reporter_name) == (31.05, 121.02, "Lei Wang")
    assert (checked.email, checked.phone, checked.media_url) == (None, "+86 138 0013 8000", "https://x.cn/1.jpg")
    by_address = mapping.submission({"service_code": "E0102", "address_string": "测试路 1 号", "lat": ""})
    assert (by_address.lat, by_address.address) == (None, "测试路 1 号")


@pytest.mark.parametrize(("form", "field"), [
    ({"lat": "31.05", "long": "121.02"}, "service_code"),
    ({"service_code": "E0102"}, "lat"),
    ({"service_code": "E0102", "address_id": "A-17"}, "address_id"),
    ({**FORM, "lat": "91"}, "lat"),
    ({**FORM, "long": "nan"}, "long"),
    ({"service_code": "E0102", "long": "121.02"}, "lat"),
    ({**FORM, "phone": "ring me"}, "phone"),
    ({**FORM, "email": "not-an-address"}, "email"),
    ({**FORM, "media_url": "javascript:alert(1)"}, "media_url"),
    ({**FORM, "description": "x" * 4001}, "description"),
    ({**FORM, "description": "a\x00b"}, "description"),
])
def test_a_bad_submission_names_its_field(form: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        mapping.submission(form)
    assert refused.value.field == field


def _query(**given: str | None) -> mapping.RequestQuery:
    fields = {"service_request_id": None, "service_code": None, "start_date": None, "end_date": None, "status": None}
    return mapping.request_query(**(fields | given), now=NOW)


def test_searches_cover_ninety_days_around_the_dates_given() -> None:
    assert (_query().start, _query().end) == (NOW - timedelta(days=90), NOW)
    started = _query(start_date="2025-01-01T00:00:00+08:00")
    assert started.start == datetime(2024, 12, 31, 16, tzinfo=UTC) and started.end == started.start + timedelta(days=90)
    ended = _query(end_date="2025-03-01T00:00:00Z")
    assert ended.end - ended.start == timedelta(days=90)


def test_ids_override_every_other_filter_and_lists_are_comma_separated() -> None:
    by_id = _query(service_request_id="3, 1,3", status="nonsense", start_date="not a date")
    assert by_id.ids == (3, 1) and by_id.statuses is None and by_id.start is None
    listed = _query(service_code="E0102,C0101", status="open,closed")
    assert listed.service_codes == ("E0102", "C0101") and listed.statuses == frozenset(CaseStatus)
    assert _query(status="closed").statuses == mapping.CLOSED_STATUSES


@pytest.mark.parametrize(("given", "field"), [
    ({"start_date": "2025-02-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"}, "start_date"),
    ({"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-05-01T00:00:00Z"}, "end_date"),
    ({"start_date": "2025-01-01T00:00:00"}, "start_date"),
    ({"end_date": "yesterday"}, "end_date"),
    ({"end_date": "0001-01-01T00:00:00+08:00"}, "end_date"),
    ({"status": "pending"}, "status"),
    ({"service_request_id": "12,abc"}, "service_request_id"),
])
def test_bad_filters_name_their_field(given: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        _query(**given)
    assert refused.value.field == field
