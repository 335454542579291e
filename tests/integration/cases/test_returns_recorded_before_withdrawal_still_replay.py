"""Returns recorded before a return withdrew the other departments' parts (migration 0019): taken back
to that shape and brought up again, every past return's entry lists the departments it left
outstanding, the cases still returned show those parts withdrawn, and every timeline replays."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cityops.cases import service
from cityops.cases.lifecycle import Action
from cityops.cases.models import Case, CaseAssignment, CaseEvent
from cityops.db import migrate, unit_of_work
from cityops.errors import Conflict
from tests.factories import downgrade
from tests.integration.cases.conftest import JointCity, local

START = local(2025, 9, 30, 9, 0)


def joint_cases(session: Session) -> dict[str, int]:
    """A parallel case its lead returned, a serial one an assisting department returned after the lead
    reported and the centre then reassigned, and a one-department case returned."""
    case = JointCity(session, START).case
    return {
        "parallel": case("parallel", ("dispatcher", None, Action.dispatch, {"lead": "D1", "assisting": ["D2", "D3"]}),
                         ("handler", "D3", Action.acknowledge, {}), ("handler", "D1", Action.return_, {})),
        "serial": case("serial", ("dispatcher", None, Action.dispatch,
                                  {"lead": "D1", "assisting": ["D2", "D3"], "mode": "serial"}),
                       ("handler", "D1", Action.acknowledge, {}), ("handler", "D1", Action.report, {}),
                       ("handler", "D2", Action.return_, {}),
                       ("dispatcher", None, Action.reassign, {"lead": "D3", "assisting": ["D2"]})),
        "alone": case("alone", ("dispatcher", None, Action.dispatch, {"lead": "D1"}),
                      ("handler", "D1", Action.return_, {})),
    }


def returns(session: Session, case_id: int) -> list[dict[str, Any]]:
    return list(session.scalars(select(CaseEvent.data).where(CaseEvent.case_id == case_id,
                                                             CaseEvent.action == "return")))


def parts(session: Session, case_id: int) -> dict[str, str]:
    return {code: status for code, status in session.execute(select(
        CaseAssignment.department_code, CaseAssignment.status).where(CaseAssignment.case_id == case_id))}


def test_returns_recorded_before_withdrawal_are_brought_up_and_replay(scratch_store: Engine) -> None:
    with unit_of_work(scratch_store) as session:
        ids = joint_cases(session)
    with Session(scratch_store) as session:
        assert [returns(session, ids[name]) for name in ids] == [[{"withdrawn": ["D2", "D3"]}],
                                                                 [{"withdrawn": ["D3"]}], [{}]]
        now = {case_id: parts(session, case_id) for case_id in ids.values()}
        assert now[ids["parallel"]] == {"D1": "returned", "D2": "withdrawn", "D3": "withdrawn"}
        assert now[ids["serial"]] == {"D3": "dispatched", "D2": "dispatched"}  # the fresh roster

    downgrade(scratch_store, "0018")
    with Session(scratch_store) as session:  # as a return was recorded before
        assert [returns(session, ids[name]) for name in ids] == [[{}], [{}], [{}]]
        assert parts(session, ids["parallel"]) == {"D1": "returned", "D2": "dispatched", "D3": "in_progress"}
        assert parts(session, ids["serial"]) == now[ids["serial"]]
        for name in ("parallel", "serial"):
            with pytest.raises(Conflict) as caught:
                service.state_of(session, case=session.get(Case, ids[name]))
            assert caught.value.code == "timeline_mismatch"

    migrate(scratch_store)
    with Session(scratch_store) as session:
        assert [returns(session, ids[name]) for name in ids] == [[{"withdrawn": ["D2", "D3"]}],
                                                                 [{"withdrawn": ["D3"]}], [{}]]
        for case_id in ids.values():
            assert parts(session, case_id) == now[case_id]
            state = service.state_of(session, case=session.get(Case, case_id))
            assert {a.department_code: a.status.value for a in state.assignments} == now[case_id]
