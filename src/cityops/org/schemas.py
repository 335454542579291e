"""API shapes of the organisation domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cityops.org.roles import Role

UnitLevel = Literal["city", "district", "street"]
Code = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


class MeOut(BaseModel):
    kind: Literal["user", "client"]
    name: str
    display_name: str | None
    roles: list[Role]
    area_code: str
    area_level: str
    department_code: str | None
    permissions: list[str]


class UserOut(BaseModel):
    username: str
    display_name: str
    roles: list[Role]
    area_code: str
    department_code: str | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserPage(BaseModel):
    items: list[UserOut]
    total: int


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=200)
    area_code: str = Field(min_length=1, max_length=64)
    roles: list[Role] = Field(min_length=1)
    department_code: str | None = Field(None, max_length=64)


class UserPatch(BaseModel):
    """Only the fields given change."""

    display_name: str | None = Field(None, min_length=1, max_length=200)
    password: str | None = Field(None, min_length=8, max_length=200)
    roles: list[Role] | None = Field(None, min_length=1)
    active: bool | None = None
    area_code: str | None = Field(None, min_length=1, max_length=64, description="move the user to this area")
    department_code: str | None = Field(None, max_length=64,
                                        description="the user's department; null takes them out of theirs")


class DepartmentIn(BaseModel):
    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    level: UnitLevel
    area_code: str = Field(min_length=1, max_length=64)
    kind: str = Field("general", min_length=1, max_length=64)
    is_area_fallback: bool = Field(False, description="takes the cases nobody else owns in its area (属地兜底)")


class DepartmentOut(BaseModel):
    code: str
    name: str
    level: UnitLevel
    kind: str
    area_code: str
    is_area_fallback: bool
    active: bool


class OpsCentreIn(BaseModel):
    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    level: UnitLevel
    area_code: str = Field(min_length=1, max_length=64)


class OpsCentreOut(BaseModel):
    code: str
    name: str
    level: UnitLevel
    area_code: str


class ApiClientIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["system", "device"]
    area_code: str = Field(min_length=1, max_length=64)
    roles: list[Literal["system", "device"]] = Field(default_factory=list)


class ApiClientOut(BaseModel):
    id: int
    name: str
    kind: Literal["system", "device"]
    area_code: str
    roles: list[str]
    token_hint: str = Field(description="the token's last four characters")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiClientCreated(ApiClientOut):
    token: str = Field(description="the bearer token; shown only once")
