"""The work queues (待办): which cases each holds and which roles work it. Pure data over the
lifecycle's transition table, tested without a database; ``cases.service`` turns a queue into a query.

A queue is *worked* by the roles that may take its next step (``lifecycle.TABLE``): an operator's cases
to register, a dispatcher's to dispatch, a handler's to acknowledge, handle and report in to
(``summoned``, 吹哨报到), an inspector's to verify. The shared queues (overdue, supervised, the
department's own cases and all cases in view) follow, for whoever they concern. A user with several
roles works the union, in the loop's order.

Overdue (已超期) and supervised (督办中) are the whole jurisdiction's for operations-centre staff, who
chase them; for a department's staff they hold only the late steps that are its department's to take:
its own (a summons' report-in), or the case's step while its part of the case is one of
``ACTING_PARTS`` — the departments the sweeper tells when that step runs late. A case late at the
centre's step (to dispatch again after a return, to verify) or at another department's is not its."""

from __future__ import annotations

from collections.abc import Iterable

from cityops.cases.joint import AssignmentStatus
from cityops.cases.lifecycle import TABLE, Action, CaseStatus

BY_STATUS: dict[str, tuple[CaseStatus, ...]] = {
    "to_register": (CaseStatus.reported,),
    "to_dispatch": (CaseStatus.registered, CaseStatus.returned),
    "to_acknowledge": (CaseStatus.dispatched,),
    "to_handle": (CaseStatus.in_progress,),
    "to_verify": (CaseStatus.handled,),
}
"""The queues that hold the cases in given statuses (a department's to_acknowledge and to_handle go
by its own part of the case instead: see ``cases.service``)."""

NEXT_STEP: dict[str, Action] = {
    "to_register": Action.register,
    "to_dispatch": Action.dispatch,
    "to_acknowledge": Action.acknowledge,
    "to_handle": Action.report,
    "summoned": Action.report_in,
    "to_verify": Action.verify,
}
"""Each work queue, in the loop's order, with the action that takes a case out of it."""

MAIN_QUEUE = {"operator": "to_register", "dispatcher": "to_dispatch", "handler": "to_acknowledge",
              "inspector": "to_verify", "administrator": "to_register"}
"""The queue each role is there for, shown before the others it may also work (a dispatcher may
register and verify too, but opens on its cases to dispatch)."""

DEPARTMENT_QUEUES = ("summoned", "department")
"""Queues of the caller's department: the cases it is summoned to and has not reported in to yet
(``summoned``), and every case it holds or is summoned to (``department``)."""

ACTING_PARTS = (AssignmentStatus.dispatched.value, AssignmentStatus.in_progress.value)
"""A department's parts of a case whose running step is the department's: dispatched to it (to
acknowledge) or in progress (to handle). Not a part waiting for its turn in series, nor one reported,
returned or withdrawn: the step is then another department's, or the centre's."""

SHARED = ("overdue", "supervised", "all")
QUEUES = (*NEXT_STEP, "overdue", "supervised", "department", "all")
"""Every queue name the API knows (``all``: no queue, every case in view)."""

DEFAULT_ORDER = {"summoned": "deadline", "overdue": "deadline"}
"""Queues read soonest deadline first unless another order is asked for; the rest newest first."""


def worked_by(roles: Iterable[str], *, in_department: bool) -> tuple[str, ...]:
    """The queues a caller with ``roles`` should see, its own work first: the work queues whose next
    step one of its roles may take (its roles' main queues first, then in the loop's order), then the
    department's queues (for a member of a department), then the shared ones."""
    held = set(roles)
    own = [name for name, action in NEXT_STEP.items() if held & TABLE[action].roles
           and (name != "summoned" or in_department)]
    main = {MAIN_QUEUE[role] for role in held if role in MAIN_QUEUE}
    own.sort(key=lambda name: name not in main)  # stable: the loop's order within each part
    return (*own, *(("department",) if in_department else ()), *SHARED)
