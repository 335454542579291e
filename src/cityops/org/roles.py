"""Roles and what each may do. Pure data, checked in one place (``cityops.org.access``)."""

from enum import StrEnum


class Role(StrEnum):
    administrator = "administrator"
    operator = "operator"
    dispatcher = "dispatcher"
    handler = "handler"
    inspector = "inspector"
    leader = "leader"
    system = "system"
    device = "device"


class Permission(StrEnum):
    read_records = "read_records"
    manage_areas = "manage_areas"
    manage_organisation = "manage_organisation"
    manage_users = "manage_users"
    manage_categories = "manage_categories"
    manage_responsibility = "manage_responsibility"
    manage_api_clients = "manage_api_clients"
    manage_calendar = "manage_calendar"


STAFF_ROLES = frozenset({Role.administrator, Role.operator, Role.dispatcher, Role.handler,
                         Role.inspector, Role.leader})
CLIENT_ROLES = frozenset({Role.system, Role.device})

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.administrator: frozenset(Permission),
    Role.operator: frozenset({Permission.read_records}),
    Role.dispatcher: frozenset({Permission.read_records, Permission.manage_responsibility}),
    Role.handler: frozenset({Permission.read_records}),
    Role.inspector: frozenset({Permission.read_records}),
    Role.leader: frozenset({Permission.read_records}),
    Role.system: frozenset({Permission.read_records}),
    Role.device: frozenset(),
}


def permissions_of(roles: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= PERMISSIONS.get(Role(role), frozenset())
    return frozenset(granted)
