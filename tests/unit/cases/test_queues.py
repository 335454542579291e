"""Which work queues a caller works follows the transition table: a queue belongs to the roles that
may take its next step, a user with several roles works the union, and the department's queues need
a department."""

from __future__ import annotations

from cityops.cases import queues
from cityops.cases.lifecycle import TABLE

SHARED = ("overdue", "supervised", "all")


def test_every_work_queue_belongs_to_the_roles_that_take_its_next_step() -> None:
    for name, action in queues.NEXT_STEP.items():
        for role in ("operator", "dispatcher", "handler", "inspector", "leader", "administrator"):
            assert (name in queues.worked_by([role], in_department=True)) is (role in TABLE[action].roles), \
                (name, role)


def test_roles_work_their_own_queues_first_then_the_shared_ones() -> None:
    assert queues.worked_by(["handler"], in_department=True) == (
        "to_acknowledge", "to_handle", "summoned", "department", *SHARED)
    assert queues.worked_by(["leader"], in_department=False) == SHARED
    assert queues.worked_by(["administrator"], in_department=False) == ("to_register", "to_dispatch", *SHARED)
    # a dispatcher may register and verify too, but its own work comes first
    assert queues.worked_by(["dispatcher"], in_department=False) == (
        "to_dispatch", "to_register", "to_verify", *SHARED)


def test_several_roles_work_the_union_in_the_loops_order() -> None:
    assert queues.worked_by(["inspector", "operator"], in_department=False) == queues.worked_by(
        ["operator", "inspector"], in_department=False) == ("to_register", "to_verify", *SHARED)
    assert queues.worked_by(["handler", "inspector"], in_department=True) == (
        "to_acknowledge", "to_verify", "to_handle", "summoned", "department", *SHARED)


def test_without_a_department_nobody_reports_in_or_holds_cases() -> None:
    assert queues.worked_by(["handler"], in_department=False) == ("to_acknowledge", "to_handle", *SHARED)


def test_every_queue_has_a_meaning() -> None:
    assert set(queues.QUEUES) == {*queues.NEXT_STEP, *queues.DEPARTMENT_QUEUES, *SHARED}
    assert set(queues.BY_STATUS) <= set(queues.NEXT_STEP)
