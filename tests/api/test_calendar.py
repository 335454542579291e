"""The work calendar through the API: read by staff, edited by city administrators."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.models import CalendarDay
from tests.factories import login, make_city, make_user


def staff(client: TestClient, session: Session) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    make_city(session)
    make_user(session, username="city.admin", roles=["administrator"], area_code="990000")
    make_user(session, username="district.admin", roles=["administrator"], area_code="990101")
    make_user(session, username="street.op", roles=["operator"], area_code="99010101")
    return login(client, "city.admin"), login(client, "district.admin"), login(client, "street.op")


def test_a_known_year_lists_holidays_and_make_up_days(client: TestClient, session: Session) -> None:
    _, _, operator = staff(client, session)
    year = client.get("/api/v1/calendar/2025", headers=operator).json()
    assert year["coverage"] == "confirmed_by_library" and year["working_days"] == 248
    days = {d["day"]: d for d in year["days"]}
    assert days["2025-01-26"]["working"] and days["2025-01-26"]["source"] == "library"  # a Sunday, 调休
    assert not days["2025-10-01"]["working"]
    assert "2025-03-03" not in days  # an ordinary Monday
    # named in Chinese, as the State Council's notice does, with the holiday's stable code beside
    assert {day: (days[day]["name"], days[day]["holiday"]) for day in ("2025-01-01", "2025-01-26", "2025-04-04",
                                                                       "2025-10-06")} == {
        "2025-01-01": ("元旦", "new_years_day"), "2025-01-26": ("春节", "spring_festival"),
        "2025-04-04": ("清明节", "tomb_sweeping_day"), "2025-10-06": ("中秋节", "mid_autumn_festival")}


def test_an_administrator_enters_a_year_the_library_does_not_know(client: TestClient, session: Session) -> None:
    admin, _, operator = staff(client, session)
    assert client.get("/api/v1/calendar/2031", headers=operator).json()["coverage"] == "weekday_rule_only"
    response = client.put("/api/v1/calendar/days/2031-01-23", headers=admin,
                          json={"working": False, "name": "2031 春节"})
    assert response.status_code == 200 and response.json()["source"] == "override"
    assert response.json()["holiday"] is None  # an administrator's note is not one of the library's holidays
    year = client.get("/api/v1/calendar/2031", headers=operator).json()
    assert year["coverage"] == "overridden"
    assert {d["day"]: d["name"] for d in year["days"]} == {"2031-01-23": "2031 春节"}
    assert client.delete("/api/v1/calendar/days/2031-01-23", headers=admin).status_code == 204
    assert client.get("/api/v1/calendar/2031", headers=operator).json()["coverage"] == "weekday_rule_only"


def test_only_a_city_administrator_edits_and_bad_input_changes_nothing(client: TestClient,
                                                                        session: Session) -> None:
    admin, district_admin, operator = staff(client, session)
    body = {"working": False, "name": "本地休息日"}
    assert client.put("/api/v1/calendar/days/2031-05-06", headers=operator, json=body).status_code == 403
    assert client.put("/api/v1/calendar/days/2031-05-06", headers=district_admin, json=body).status_code == 403
    blank = client.put("/api/v1/calendar/days/2031-05-06", headers=admin, json={"working": False, "name": ""})
    assert blank.status_code == 422 and blank.json()["field"] == "name"
    assert client.put("/api/v1/calendar/days/2031-02-30", headers=admin, json=body).status_code == 422
    missing = client.delete("/api/v1/calendar/days/2031-05-07", headers=admin)
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_calendar_day"
    assert session.scalar(select(func.count()).select_from(CalendarDay)) == 0
