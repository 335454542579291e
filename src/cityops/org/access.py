"""Who may see and change what: role permissions and jurisdiction, checked in one place.

A principal's jurisdiction is the subtree under its area: a record is visible when the record's
area path starts with the principal's area path. Pure functions, tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass

from cityops.errors import OutsideJurisdiction, PermissionDenied
from cityops.org.roles import Permission, permissions_of


@dataclass(frozen=True)
class Principal:
    """The caller: a user (``kind="user"``) or an API client (``kind="client"``)."""

    id: int
    kind: str
    name: str
    roles: tuple[str, ...]
    area_id: int
    area_code: str
    area_path: str
    area_level: str
    department_id: int | None = None
    department_code: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def covers(self, area_path: str) -> bool:
        return area_path.startswith(self.area_path)


def require(principal: Principal, permission: Permission) -> None:
    if not principal.can(permission):
        raise PermissionDenied(f"role {', '.join(principal.roles) or 'none'} may not {permission.value}")


def require_jurisdiction(principal: Principal, area_path: str, *, what: str = "record") -> None:
    if not principal.covers(area_path):
        raise OutsideJurisdiction(f"this {what} lies outside your jurisdiction ({principal.area_code})")
