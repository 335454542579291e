"""HTTP API of the organisation domain: sign-in, users, departments, centres and API clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session

from cityops.deps import AppSettings, CurrentPrincipal, DbSession, Reader, requires
from cityops.geo import service as geo_service
from cityops.org import service
from cityops.org.access import Principal, require_jurisdiction
from cityops.org.models import ApiClient, Department, OpsCentre, User
from cityops.org.roles import Permission, Role
from cityops.org.schemas import (
    ApiClientCreated,
    ApiClientIn,
    ApiClientOut,
    DepartmentIn,
    DepartmentOut,
    MeOut,
    OpsCentreIn,
    OpsCentreOut,
    TokenOut,
    UserIn,
    UserOut,
    UserPage,
    UserPatch,
)

router = APIRouter(prefix="/api/v1")
UserManager = Annotated[Principal, requires(Permission.manage_users)]
OrgManager = Annotated[Principal, requires(Permission.manage_organisation)]
ClientManager = Annotated[Principal, requires(Permission.manage_api_clients)]


def _area_code(session: Session, area_id: int) -> str:
    return geo_service.get_area_by_id(session, area_id=area_id).code


def _department_code(session: Session, department_id: int | None) -> str | None:
    return session.get(Department, department_id).code if department_id else None


def _user_out(session: Session, user: User) -> UserOut:
    return UserOut(username=user.username, display_name=user.display_name, roles=user.roles,
                   area_code=_area_code(session, user.area_id),
                   department_code=_department_code(session, user.department_id), active=user.active,
                   created_at=user.created_at, last_login_at=user.last_login_at)


def _department_out(session: Session, department: Department) -> DepartmentOut:
    return DepartmentOut(code=department.code, name=department.name, level=department.level,
                         kind=department.kind, area_code=_area_code(session, department.area_id),
                         is_area_fallback=department.is_area_fallback, active=department.active)


def _centre_out(session: Session, centre: OpsCentre) -> OpsCentreOut:
    return OpsCentreOut(code=centre.code, name=centre.name, level=centre.level,
                        area_code=_area_code(session, centre.area_id))


def _client_out(session: Session, client: ApiClient) -> ApiClientOut:
    return ApiClientOut(id=client.id, name=client.name, kind=client.kind,
                        area_code=_area_code(session, client.area_id), roles=client.roles,
                        token_hint=client.token_hint, created_at=client.created_at,
                        last_used_at=client.last_used_at, revoked_at=client.revoked_at)


@router.post("/auth/token", response_model=TokenOut, tags=["access"],
             summary="Sign in (OAuth2 password flow) and receive a JWT")
def sign_in(session: DbSession, settings: AppSettings,
            form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    token = service.login(session, username=form.username, password=form.password,
                          secret=settings.secret_key, minutes=settings.access_token_minutes)
    return TokenOut(access_token=token, expires_in=settings.access_token_minutes * 60)


@router.get("/me", response_model=MeOut, tags=["access"], summary="Who you are and what you may do")
def me(session: DbSession, principal: CurrentPrincipal) -> MeOut:
    user = session.get(User, principal.id) if principal.kind == "user" else None
    return MeOut(kind=principal.kind, name=principal.name, display_name=user.display_name if user else None,
                 roles=list(principal.roles), area_code=principal.area_code, area_level=principal.area_level,
                 department_code=_department_code(session, principal.department_id),
                 permissions=sorted(p.value for p in principal.permissions))


@router.get("/users", response_model=UserPage, tags=["organisation"], summary="Users in your jurisdiction")
def list_users(session: DbSession, viewer: Reader, role: Role | None = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> UserPage:
    users, total = service.list_users(session, viewer=viewer, role=role.value if role else None, limit=limit,
                                      offset=offset)
    return UserPage(items=[_user_out(session, u) for u in users], total=total)


@router.post("/users", response_model=UserOut, status_code=201, tags=["organisation"],
             summary="Create a user in your jurisdiction")
def create_user(session: DbSession, manager: UserManager, body: UserIn) -> UserOut:
    user = service.create_user(session, username=body.username, display_name=body.display_name,
                               password=body.password, area_code=body.area_code,
                               roles=[r.value for r in body.roles], department_code=body.department_code,
                               actor=manager)
    return _user_out(session, user)


@router.get("/users/{username}", response_model=UserOut, tags=["organisation"])
def get_user(session: DbSession, viewer: Reader, username: str) -> UserOut:
    return _user_out(session, service.get_user(session, username=username, viewer=viewer))


@router.patch("/users/{username}", response_model=UserOut, tags=["organisation"],
              summary="Change a user's name, password, roles, area, department or active flag")
def update_user(session: DbSession, manager: UserManager, username: str, body: UserPatch) -> UserOut:
    user = service.get_user(session, username=username, viewer=manager)
    service.update_user(session, user=user, actor=manager, display_name=body.display_name,
                        password=body.password, roles=[r.value for r in body.roles] if body.roles else None,
                        active=body.active, area_code=body.area_code,
                        change_department="department_code" in body.model_fields_set,
                        department_code=body.department_code or None)
    return _user_out(session, user)


@router.get("/departments", response_model=list[DepartmentOut], tags=["organisation"],
            summary="Departments in your jurisdiction, or those that can take a case in one area")
def list_departments(session: DbSession, viewer: Reader,
                     level: Annotated[str | None, Query(pattern="^(city|district|street)$")] = None,
                     kind: Annotated[str | None, Query(max_length=64)] = None,
                     serving: Annotated[str | None, Query(min_length=1, max_length=64, description=(
                         "an area code in your jurisdiction: instead, the active departments of that area and of "
                         "the areas above it, which a case there can be dispatched or summoned to"))] = None,
                     ) -> list[DepartmentOut]:
    if serving is not None:
        require_jurisdiction(viewer, geo_service.get_area(session, code=serving).path, what="area")
        found = service.departments_serving(session, area_code=serving, level=level, kind=kind)
        return [_department_out(session, d) for d in found]
    return [_department_out(session, d) for d in service.list_departments(session, viewer=viewer, level=level,
                                                                          kind=kind)]


@router.get("/departments/{code}", response_model=DepartmentOut, tags=["organisation"])
def get_department(session: DbSession, viewer: Reader, code: str) -> DepartmentOut:
    return _department_out(session, service.get_department(session, code=code, viewer=viewer))


@router.post("/departments", response_model=DepartmentOut, status_code=201, tags=["organisation"])
def create_department(session: DbSession, manager: OrgManager, body: DepartmentIn) -> DepartmentOut:
    department = service.create_department(session, code=body.code, name=body.name, level=body.level,
                                           area_code=body.area_code, kind=body.kind,
                                           is_area_fallback=body.is_area_fallback, actor=manager)
    return _department_out(session, department)


@router.get("/ops-centres", response_model=list[OpsCentreOut], tags=["organisation"],
            summary="Operations centres in your jurisdiction")
def list_ops_centres(session: DbSession, viewer: Reader) -> list[OpsCentreOut]:
    return [_centre_out(session, c) for c in service.list_ops_centres(session, viewer=viewer)]


@router.post("/ops-centres", response_model=OpsCentreOut, status_code=201, tags=["organisation"])
def create_ops_centre(session: DbSession, manager: OrgManager, body: OpsCentreIn) -> OpsCentreOut:
    centre = service.create_ops_centre(session, code=body.code, name=body.name, level=body.level,
                                       area_code=body.area_code, actor=manager)
    return _centre_out(session, centre)


@router.get("/api-clients", response_model=list[ApiClientOut], tags=["access"],
            summary="Systems and devices with API tokens in your jurisdiction")
def list_api_clients(session: DbSession, manager: ClientManager) -> list[ApiClientOut]:
    return [_client_out(session, c) for c in service.list_api_clients(session, viewer=manager)]


@router.post("/api-clients", response_model=ApiClientCreated, status_code=201, tags=["access"],
             summary="Register a system or device; the token is shown only in this answer")
def create_api_client(session: DbSession, manager: ClientManager, body: ApiClientIn) -> ApiClientCreated:
    client, token = service.create_api_client(session, name=body.name, kind=body.kind,
                                               area_code=body.area_code, roles=list(body.roles), actor=manager)
    return ApiClientCreated(**_client_out(session, client).model_dump(), token=token)


@router.post("/api-clients/{client_id}/revoke", response_model=ApiClientOut, tags=["access"],
             summary="Revoke a client's token at once")
def revoke_api_client(session: DbSession, manager: ClientManager,
                      client_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> ApiClientOut:
    client = service.get_api_client(session, client_id=client_id, viewer=manager)
    return _client_out(session, service.revoke_api_client(session, client=client))
