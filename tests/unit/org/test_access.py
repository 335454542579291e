"""Jurisdiction and role rules, without a database."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityops.errors import OutsideJurisdiction, PermissionDenied
from cityops.org.access import Principal, require, require_jurisdiction
from cityops.org.roles import Permission, Role, permissions_of


def principal(path: str, *roles: str) -> Principal:
    code = path.strip("/").split("/")[-1]
    return Principal(id=1, kind="user", name="u", roles=roles or ("operator",), area_id=1, area_code=code,
                     area_path=path, area_level="street")


def test_a_street_user_covers_its_subtree_only() -> None:
    user = principal("/310000/310101/310101002/")
    assert user.covers("/310000/310101/310101002/")
    assert user.covers("/310000/310101/310101002/31010100201/")
    assert not user.covers("/310000/310101/")
    assert not user.covers("/310000/310101/310101013/")


def test_a_code_that_extends_another_is_not_inside_it() -> None:
    # "3101010020" starts with "310101002" as text, but it is a sibling, not a child.
    user = principal("/310000/310101/310101002/")
    assert not user.covers("/310000/310101/3101010020/")


@given(st.lists(st.text("0123456789", min_size=1, max_size=4), min_size=1, max_size=5),
       st.lists(st.text("0123456789", min_size=1, max_size=4), min_size=0, max_size=3))
def test_every_descendant_path_is_covered(ancestors: list[str], below: list[str]) -> None:
    base = "/" + "/".join(ancestors) + "/"
    user = principal(base)
    assert user.covers(base + "".join(f"{c}/" for c in below))


def test_require_jurisdiction_raises_outside() -> None:
    with pytest.raises(OutsideJurisdiction) as caught:
        require_jurisdiction(principal("/1/2/"), "/1/3/", what="case")
    assert caught.value.code == "outside_jurisdiction" and caught.value.status == 403


def test_leaders_read_but_never_manage() -> None:
    leader = principal("/1/", Role.leader.value)
    require(leader, Permission.read_records)
    for permission in set(Permission) - {Permission.read_records}:
        with pytest.raises(PermissionDenied):
            require(leader, permission)


def test_administrator_holds_every_permission_and_devices_none() -> None:
    assert permissions_of(["administrator"]) == frozenset(Permission)
    assert permissions_of(["device"]) == frozenset()
    assert permissions_of(["handler", "dispatcher"]) >= {Permission.manage_responsibility}


def test_unknown_role_is_an_error() -> None:
    with pytest.raises(ValueError):
        permissions_of(["mayor"])
