"""The principals behind user tokens and the work calendar are kept per process while their change
stamps stand still, never outlive a change by any writer, and a unit of work reads all the stamps it
needs in one statement."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select, text

from cityops import reference
from cityops.calendar.service import CalendarCache
from cityops.config import Settings
from cityops.db import migrate, unit_of_work
from cityops.errors import NotAuthenticated
from cityops.geo.service import LocatorCache
from cityops.org import service as org_service
from cityops.org.models import User
from cityops.org.security import create_access_token
from tests.factories import PASSWORD, downgrade, make_city, make_user, statements_during

SECRET = "s" * 40


@pytest.fixture
def token(scratch_store: Engine) -> str:
    with unit_of_work(scratch_store) as session:
        make_city(session)
        user = make_user(session, username="operator.a", roles=["operator"], area_code="990101")
        return create_access_token(user_id=user.id, secret=SECRET, minutes=30)


def principal(engine: Engine, token: str) -> org_service.Principal:
    with unit_of_work(engine) as session:
        return org_service.principal_for_token(session, token=token, secret=SECRET)


def test_a_known_token_reads_no_user_row(scratch_store: Engine, token: str) -> None:
    assert principal(scratch_store, token).roles == ("operator",)
    again = statements_during(scratch_store, lambda: principal(scratch_store, token))
    assert [s for s in again if "FROM users" in s] == []
    assert len([s for s in again if "change_stamps" in s]) == 1


@pytest.mark.parametrize("how", ["service", "sql"])
def test_a_deactivation_by_any_writer_refuses_the_next_request(scratch_store: Engine, token: str, how: str) -> None:
    principal(scratch_store, token)
    with unit_of_work(scratch_store) as session:
        if how == "service":
            admin = make_user(session, username="city.admin", roles=["administrator"], area_code="990000")
            org_service.update_user(session, user=session.scalar(select(User).where(User.username == "operator.a")),
                                    actor=org_service.principal_of_user(session, admin), active=False)
        else:  # as a SQL console would
            session.execute(text("UPDATE users SET active = false WHERE username = 'operator.a'"))
    with pytest.raises(NotAuthenticated):
        principal(scratch_store, token)


def test_a_new_role_is_seen_at_the_next_request(scratch_store: Engine, token: str) -> None:
    principal(scratch_store, token)
    with unit_of_work(scratch_store) as session:
        session.execute(text("""UPDATE users SET roles = '["operator", "dispatcher"]' WHERE username = 'operator.a'"""))
    assert principal(scratch_store, token).roles == ("operator", "dispatcher")


def test_a_sign_in_keeps_the_principals(scratch_store: Engine, token: str) -> None:
    principal(scratch_store, token)
    with unit_of_work(scratch_store) as session:
        org_service.login(session, username="operator.a", password=PASSWORD, secret=SECRET, minutes=5)
    again = statements_during(scratch_store, lambda: principal(scratch_store, token))
    assert [s for s in again if "FROM users" in s] == []


def test_a_calendar_change_by_any_writer_is_seen_by_the_next_unit_of_work(scratch_store: Engine) -> None:
    calendars = CalendarCache(Settings(environment="test", secret_key=SECRET))
    saturday = date(2031, 3, 8)  # a year chinesecalendar does not know

    def working() -> bool:
        with unit_of_work(scratch_store) as session:
            return calendars.get(session).is_working_day(saturday)

    assert working() is False
    kept = statements_during(scratch_store, working)
    assert [s for s in kept if "calendar_days" in s] == []
    with unit_of_work(scratch_store) as session:
        session.execute(text("INSERT INTO calendar_days (day, working, name, updated_at) "
                             "VALUES ('2031-03-08', true, '调休上班', '2031-01-01 00:00:00')"))
    assert working() is True


def test_a_transaction_sees_its_own_calendar_change(scratch_store: Engine) -> None:
    calendars = CalendarCache(Settings(environment="test", secret_key=SECRET))
    with unit_of_work(scratch_store) as session:
        assert calendars.get(session).is_working_day(date(2031, 3, 8)) is False
        session.execute(text("INSERT INTO calendar_days (day, working, name, updated_at) "
                             "VALUES ('2031-03-08', true, '调休上班', '2031-01-01 00:00:00')"))
        assert calendars.get(session).is_working_day(date(2031, 3, 8)) is True


def test_a_request_reads_every_stamp_in_one_statement(scratch_store: Engine, token: str) -> None:
    calendars = CalendarCache(Settings(environment="test", secret_key=SECRET))
    locators = LocatorCache(boundary_distance_m=30)

    def request() -> None:  # what taking in a case looks up before its own work
        with unit_of_work(scratch_store) as session:
            org_service.principal_for_token(session, token=token, secret=SECRET)
            locators.get(session)
            calendars.get(session)
            reference.memo(session)

    request()
    assert len([s for s in statements_during(scratch_store, request) if "change_stamps" in s]) == 1


def shown_names(engine: Engine, users: set[tuple[int, str]]) -> dict[tuple[int, str], str]:
    with unit_of_work(engine) as session:
        return org_service.display_names(session, users=users)


def operator_a(engine: Engine) -> tuple[int, str]:
    with unit_of_work(engine) as session:
        return session.scalar(select(User.id).where(User.username == "operator.a")), "operator.a"


def rename(engine: Engine, display_name: str) -> None:
    with unit_of_work(engine) as session:
        session.execute(text("UPDATE users SET display_name = :name WHERE username = 'operator.a'"),
                        {"name": display_name})


def test_display_names_are_kept_and_a_new_one_by_any_writer_is_seen_next(scratch_store: Engine, token: str) -> None:
    user = operator_a(scratch_store)
    rename(scratch_store, "受理员甲")
    assert shown_names(scratch_store, {user}) == {user: "受理员甲"}
    kept = statements_during(scratch_store, lambda: shown_names(scratch_store, {user}))
    assert [s for s in kept if "FROM users" in s] == []
    rename(scratch_store, "受理员乙")  # as a SQL console would
    assert shown_names(scratch_store, {user}) == {user: "受理员乙"}


def test_names_read_after_renaming_in_a_transaction_that_rolls_back_are_never_shown_to_others(
        scratch_store: Engine, token: str) -> None:
    user = operator_a(scratch_store)
    rename(scratch_store, "受理员甲")
    assert shown_names(scratch_store, {user}) == {user: "受理员甲"}

    class Undone(Exception):
        pass

    with pytest.raises(Undone), unit_of_work(scratch_store) as session:
        session.execute(text("UPDATE users SET display_name = '未生效' WHERE username = 'operator.a'"))
        assert org_service.display_names(session, users={user}) == {user: "未生效"}  # its own change
        raise Undone
    assert shown_names(scratch_store, {user}) == {user: "受理员甲"}
    # another writer moves the stamp to the version the rolled-back transaction had seen
    rename(scratch_store, "受理员乙")
    assert shown_names(scratch_store, {user}) == {user: "受理员乙"}


def users_stamp(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return session.scalar(text("SELECT version FROM change_stamps WHERE name = 'users'"))


def test_a_new_display_name_moves_the_users_stamp_from_migration_0021(scratch_store: Engine, token: str) -> None:
    downgrade(scratch_store, "0020")
    before = users_stamp(scratch_store)
    rename(scratch_store, "受理员甲")
    assert users_stamp(scratch_store) == before  # as the stamp was watched before
    migrate(scratch_store)
    rename(scratch_store, "受理员乙")
    assert users_stamp(scratch_store) == before + 1
    with unit_of_work(scratch_store) as session:  # a sign-in still keeps the stamp
        org_service.login(session, username="operator.a", password=PASSWORD, secret=SECRET, minutes=5)
    assert users_stamp(scratch_store) == before + 1
