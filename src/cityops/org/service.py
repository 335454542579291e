"""Use cases of the organisation domain: people, units, credentials and the caller."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from cityops import reference, stamps
from cityops.db import utcnow
from cityops.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area
from cityops.org.access import Principal, require_jurisdiction
from cityops.org.models import ApiClient, Department, OpsCentre, User
from cityops.org.roles import CLIENT_ROLES, STAFF_ROLES, Role
from cityops.org.security import (
    create_access_token,
    decode_access_token,
    hash_api_token,
    hash_password,
    is_api_token,
    new_api_token,
    verify_password,
)

USERS_STAMP = "users"
"""Moved by triggers when a user is added or a column a principal is made of changes (migration 0018)."""
UNIT_LEVELS = (AreaLevel.city, AreaLevel.district, AreaLevel.street)
MIN_PASSWORD_LENGTH = 8


def _principal(session: Session, *, id: int, kind: str, name: str, roles: list[str], area_id: int,
               department_id: int | None) -> Principal:
    area = geo_service.area_key(session, area_id=area_id)
    return Principal(id=id, kind=kind, name=name, roles=tuple(roles), area_id=area.id, area_code=area.code,
                     area_path=area.path, area_level=area.level, department_id=department_id,
                     department_code=department_code(session, department_id=department_id) if department_id else None)


def department_code(session: Session, *, department_id: int) -> str:
    """The code of department ``department_id`` (kept until departments change)."""
    memo = reference.memo(session)
    if ("department code", department_id) not in memo:
        memo["department code", department_id] = session.scalar(
            select(Department.code).where(Department.id == department_id))
    return memo["department code", department_id]


def principal_of_user(session: Session, user: User | Row[Any]) -> Principal:
    return _principal(session, id=user.id, kind="user", name=user.username, roles=user.roles, area_id=user.area_id,
                      department_id=user.department_id)


def count_records_not_from(session: Session, *, origin: str) -> dict[str, int]:
    """How many users, departments and operations centres came from elsewhere than ``origin``."""
    counts = {name: session.scalar(select(func.count()).select_from(model).where(model.origin != origin)) or 0
              for name, model in (("users", User), ("departments", Department), ("ops_centres", OpsCentre))}
    return {name: count for name, count in counts.items() if count}


def principal_for_token(session: Session, *, token: str, secret: str) -> Principal:
    """The principal behind a bearer token: an API client's token or a user's JWT."""
    if is_api_token(token):
        client = session.scalar(select(ApiClient).where(ApiClient.token_hash == hash_api_token(token)))
        if client is None or client.revoked_at is not None:
            raise NotAuthenticated("unknown or revoked API token", code="invalid_token")
        client.last_used_at = utcnow()
        return _principal(session, id=client.id, kind="client", name=client.name, roles=client.roles,
                          area_id=client.area_id, department_id=None)
    user_id = decode_access_token(token, secret=secret)
    # kept with the reference lookups (areas and departments make a principal too) while the users
    # stamp stands still: a request then reads no user row
    memo, users_stamp = _users_memo(session)
    key = ("principal", user_id, users_stamp)
    if key not in memo:
        # the columns a principal needs, not a User instance: loading one took 6% of taking in a case
        user = session.execute(select(User.id, User.username, User.roles, User.area_id, User.department_id,
                                      User.active).where(User.id == user_id)).one_or_none()
        memo[key] = principal_of_user(session, user) if user is not None and user.active else None
    if memo[key] is None:
        raise NotAuthenticated("this account is unknown or disabled", code="invalid_token")
    return memo[key]


def login(session: Session, *, username: str, password: str, secret: str, minutes: int) -> str:
    user = session.scalar(select(User).where(User.username == username))
    # Verify against a dummy hash when the user is unknown so timing does not reveal usernames.
    valid = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not valid or not user.active:
        raise NotAuthenticated("wrong username or password", code="bad_credentials")
    user.last_login_at = utcnow()
    return create_access_token(user_id=user.id, secret=secret, minutes=minutes)


_DUMMY_HASH = hash_password("not-a-real-password")


def _validated_roles(roles: list[str], allowed: frozenset[Role]) -> list[str]:
    if not roles:
        raise InvalidInput("at least one role is required", field="roles")
    unknown = [r for r in roles if r not in {a.value for a in allowed}]
    if unknown:
        raise InvalidInput(f"unknown role(s): {', '.join(unknown)}; allowed: "
                           f"{', '.join(sorted(a.value for a in allowed))}", field="roles")
    return sorted(set(roles))


def get_user(session: Session, *, username: str, viewer: Principal) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not viewer.covers(geo_service.get_area_by_id(session, area_id=user.area_id).path):
        raise NotFound(f"no user {username!r}", code="unknown_user", field="username")
    return user


def create_user(session: Session, *, username: str, display_name: str, password: str, area_code: str,
                roles: list[str], department_code: str | None = None, actor: Principal | None = None,
                origin: str = "api") -> User:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password")
    checked_roles = _validated_roles(roles, STAFF_ROLES)
    area = geo_service.get_area(session, code=area_code)
    if actor is not None:
        require_jurisdiction(actor, area.path, what="area")
    department = None
    if department_code is not None:
        department = get_department(session, code=department_code)
        _require_serves(session, department=department, area=area)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken", code="duplicate_username", field="username")
    user = User(username=username, display_name=display_name, password_hash=hash_password(password),
                area_id=area.id, department_id=department.id if department else None, roles=checked_roles,
                origin=origin)
    session.add(user)
    session.flush()
    return user


def _require_serves(session: Session, *, department: Department, area: Area) -> None:
    if not area.path.startswith(geo_service.get_area_by_id(session, area_id=department.area_id).path):
        raise InvalidInput("the department does not serve the user's area", code="department_elsewhere",
                           field="department_code")


def update_user(session: Session, *, user: User, actor: Principal, display_name: str | None = None,
                password: str | None = None, roles: list[str] | None = None, active: bool | None = None,
                area_code: str | None = None, change_department: bool = False,
                department_code: str | None = None) -> User:
    """Change what is given; ``change_department`` with no ``department_code`` takes the user out of
    their department. Everything is checked before anything changes."""
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password")
    checked_roles = _validated_roles(roles, STAFF_ROLES) if roles is not None else user.roles
    if active is False and user.id == actor.id and actor.kind == "user":
        raise InvalidInput("you cannot disable your own account", code="cannot_disable_self", field="active")
    area = geo_service.get_area_by_id(session, area_id=user.area_id)
    if area_code is not None:
        area = geo_service.get_area(session, code=area_code)
        require_jurisdiction(actor, area.path, what="area")
    department = session.get(Department, user.department_id) if user.department_id else None
    if change_department:
        department = get_department(session, code=department_code) if department_code else None
    if department is not None and (area_code is not None or change_department):
        _require_serves(session, department=department, area=area)
    if display_name is not None:
        user.display_name = display_name
    if password is not None:
        user.password_hash = hash_password(password)
    user.roles = checked_roles
    if active is not None:
        user.active = active
    user.area_id = area.id
    user.department_id = department.id if department else None
    session.flush()
    return user


def display_names(session: Session, *, users: set[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """The current display names of ``users``, by (id, username) pairs as a record of what they did
    names them, in at most one query. A pair whose row is gone, or whose id now belongs to someone else
    (SQLite may reuse the id of a deleted last row), or whose display name is blank, is left out: the
    record's own name stands. Names are kept with the reference lookups while the users stamp (which a
    change of display name moves, migration 0021) stands still: a case's answer then reads none."""
    if not users:
        return {}
    memo, stamp = _users_memo(session)
    missing = {user_id for user_id, _ in users if ("display name", user_id, stamp) not in memo}
    if missing:
        found = {row.id: (row.username, row.display_name) for row in session.execute(
            select(User.id, User.username, User.display_name).where(User.id.in_(missing)))}
        for user_id in missing:
            memo["display name", user_id, stamp] = found.get(user_id)
    shown = {}
    for user_id, username in users:
        current = memo["display name", user_id, stamp]
        if current is not None and current[0] == username and current[1].strip():
            shown[user_id, username] = current[1]
    return shown


def _users_memo(session: Session) -> tuple[dict[Any, Any], int | None]:
    """Where to keep lookups of users, and the users stamp to key them by: shared with other units of
    work while the stamp stands still and this transaction has not written users, else its own."""
    stamp = stamps.current(session).get(USERS_STAMP)
    if stamp is None or USERS_STAMP in stamps.written_in_transaction(session.connection()):
        return {}, stamp
    return reference.memo(session), stamp


def list_users(session: Session, *, viewer: Principal, role: str | None = None, limit: int = 100,
               offset: int = 0) -> tuple[list[User], int]:
    query = select(User).join(Area, User.area_id == Area.id).where(
        Area.path.startswith(viewer.area_path, autoescape=True))
    if role is not None:
        # Roles are a short JSON list; filtering in Python keeps one query for SQLite and PostgreSQL.
        users = [u for u in session.scalars(query.order_by(User.username)) if role in u.roles]
        return users[offset:offset + limit], len(users)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.order_by(User.username).limit(limit).offset(offset))), total


def _unit_area(session: Session, *, area_code: str, level: str, actor: Principal | None) -> Area:
    if level not in {lv.value for lv in UNIT_LEVELS}:
        raise InvalidInput(f"level must be one of {', '.join(lv.value for lv in UNIT_LEVELS)}", field="level")
    area = geo_service.get_area(session, code=area_code)
    if area.level != level:
        raise InvalidInput(f"a {level}-level unit must serve a {level}, not the {area.level} {area.code}",
                           code="unit_level_mismatch", field="area_code")
    if actor is not None:
        require_jurisdiction(actor, area.path, what="area")
    return area


def create_ops_centre(session: Session, *, code: str, name: str, level: str, area_code: str,
                      actor: Principal | None = None, origin: str = "api") -> OpsCentre:
    area = _unit_area(session, area_code=area_code, level=level, actor=actor)
    if session.scalar(select(OpsCentre.id).where(OpsCentre.code == code)) is not None:
        raise Conflict(f"operations centre code {code!r} already exists", code="duplicate_code", field="code")
    centre = OpsCentre(code=code, name=name, level=level, area_id=area.id, origin=origin)
    session.add(centre)
    session.flush()
    return centre


def ops_centre_for(session: Session, *, area_codes: list[str], level: str) -> OpsCentre | None:
    """The operations centre of ``level`` serving one of ``area_codes`` (a place's chain of codes)."""
    return session.scalar(select(OpsCentre).join(Area, OpsCentre.area_id == Area.id).where(
        OpsCentre.level == level, Area.code.in_(area_codes)).limit(1))


def list_ops_centres(session: Session, *, viewer: Principal) -> list[OpsCentre]:
    return list(session.scalars(select(OpsCentre).join(Area, OpsCentre.area_id == Area.id).where(
        Area.path.startswith(viewer.area_path, autoescape=True)).order_by(Area.path)))


def get_department(session: Session, *, code: str, viewer: Principal | None = None) -> Department:
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None or (viewer is not None and not viewer.covers(
            geo_service.get_area_by_id(session, area_id=department.area_id).path)):
        raise NotFound(f"no department {code!r}", code="unknown_department", field="department_code")
    return department


def department_id(session: Session, *, code: str) -> int:
    """The id of department ``code`` (kept until departments change)."""
    memo = reference.memo(session)
    if ("department", code) not in memo:
        memo["department", code] = get_department(session, code=code).id
    return memo["department", code]


def create_department(session: Session, *, code: str, name: str, level: str, area_code: str, kind: str,
                      is_area_fallback: bool = False, actor: Principal | None = None,
                      origin: str = "api") -> Department:
    area = _unit_area(session, area_code=area_code, level=level, actor=actor)
    if session.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise Conflict(f"department code {code!r} already exists", code="duplicate_code", field="code")
    if is_area_fallback and session.scalar(select(Department.id).where(
            Department.area_id == area.id, Department.is_area_fallback.is_(True))) is not None:
        raise Conflict(f"{area.name} already has a fallback department", code="duplicate_fallback",
                       field="is_area_fallback")
    department = Department(code=code, name=name, level=level, kind=kind, area_id=area.id,
                            is_area_fallback=is_area_fallback, origin=origin)
    session.add(department)
    session.flush()
    return department


def list_departments(session: Session, *, viewer: Principal, level: str | None = None,
                     kind: str | None = None) -> list[Department]:
    query = select(Department).join(Area, Department.area_id == Area.id).where(
        Area.path.startswith(viewer.area_path, autoescape=True))
    if level is not None:
        query = query.where(Department.level == level)
    if kind is not None:
        query = query.where(Department.kind == kind)
    return list(session.scalars(query.order_by(Area.path, Department.code)))


def departments_serving(session: Session, *, area_code: str, level: str | None = None,
                        kind: str | None = None) -> list[Department]:
    """The active departments that can take a case in area ``area_code``: those of the area itself
    and of every area above it (a district's bureau serves each of its streets), from the city
    down — the departments a dispatcher or a summoning street may name there; only those of one
    ``level`` or ``kind`` when given."""
    area = geo_service.get_area(session, code=area_code)
    codes = area.path.strip("/").split("/")
    above = ["/" + "/".join(codes[:depth]) + "/" for depth in range(1, len(codes) + 1)]
    query = select(Department).join(Area, Department.area_id == Area.id).where(
        Area.path.in_(above), Department.active.is_(True))
    if level is not None:
        query = query.where(Department.level == level)
    if kind is not None:
        query = query.where(Department.kind == kind)
    return list(session.scalars(query.order_by(Area.path, Department.code)))


def fallback_departments(session: Session) -> dict[int, str]:
    """Area id → the code of the department that takes unowned cases there (属地兜底). Kept as
    reference data: routing a case to a category and place not seen before asks for it, and reading
    a city's few hundred street offices each time cost more than the rest of the decision."""
    memo = reference.memo(session)
    if "fallback_departments" not in memo:
        memo["fallback_departments"] = dict(session.execute(select(Department.area_id, Department.code).where(
            Department.is_area_fallback.is_(True), Department.active.is_(True))).all())
    return dict(memo["fallback_departments"])


def create_api_client(session: Session, *, name: str, kind: str, area_code: str, roles: list[str],
                      actor: Principal | None = None, origin: str = "api") -> tuple[ApiClient, str]:
    """Register a system or device; returns the client and its token, which is shown only now."""
    if kind not in {"system", "device"}:
        raise InvalidInput("kind must be system or device", field="kind")
    checked_roles = _validated_roles(roles or [kind], CLIENT_ROLES)
    area = geo_service.get_area(session, code=area_code)
    if actor is not None:
        require_jurisdiction(actor, area.path, what="area")
    token = new_api_token()
    client = ApiClient(name=name, kind=kind, area_id=area.id, roles=checked_roles,
                       token_hash=hash_api_token(token), token_hint=token[-4:],
                       created_by_id=actor.id if actor and actor.kind == "user" else None, origin=origin)
    session.add(client)
    session.flush()
    return client, token


def get_api_client(session: Session, *, client_id: int, viewer: Principal) -> ApiClient:
    client = session.get(ApiClient, client_id)
    if client is None or not viewer.covers(geo_service.get_area_by_id(session, area_id=client.area_id).path):
        raise NotFound(f"no API client {client_id}", code="unknown_api_client")
    return client


def revoke_api_client(session: Session, *, client: ApiClient) -> ApiClient:
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        session.flush()
    return client


def list_api_clients(session: Session, *, viewer: Principal) -> list[ApiClient]:
    return list(session.scalars(select(ApiClient).join(Area, ApiClient.area_id == Area.id).where(
        Area.path.startswith(viewer.area_path, autoescape=True)).order_by(ApiClient.id)))
