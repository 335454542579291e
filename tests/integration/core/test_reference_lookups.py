"""Reference lookups (categories, departments, routing decisions) are kept per process while the
store's reference stamp stays the same, and never outlive a change, whoever makes it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text

from cityops.categories import service as categories_service
from cityops.db import unit_of_work
from cityops.errors import NotFound
from cityops.geo.models import ChangeStamp
from cityops.org import responsibility
from cityops.org import service as org_service
from cityops.org.responsibility import CellSpec
from tests.factories import make_city, statements_during


def seed(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        make_city(session)
        categories_service.create_category(session, code="E01", name="市容环境", kind="event", origin="test")
        categories_service.create_category(session, code="E0101", name="暴露垃圾", kind="event", parent_code="E01",
                                           origin="test")
        for code in ("D1", "D2"):
            org_service.create_department(session, code=code, name=code, level="district", area_code="990101",
                                          kind="x", origin="test")
        responsibility.set_cell(session, spec=CellSpec(category_code="E0101", area_code="990101",
                                                       lead_department_code="D1"))


def lead(engine: Engine) -> str:
    with unit_of_work(engine) as session:
        return responsibility.route_case(session, category_code="E0101", area_code="99010101").lead


def test_a_second_unit_of_work_reuses_the_lookups_of_the_first(scratch_store: Engine) -> None:
    seed(scratch_store)
    assert lead(scratch_store) == "D1"
    again = statements_during(scratch_store, lambda: lead(scratch_store))
    assert [s for s in again if "responsibilities" in s or "categories" in s] == []
    assert any("change_stamps" in s for s in again)  # the stamp is still read, once


@pytest.mark.parametrize("how", ["service", "sql"])
def test_a_change_by_any_writer_is_seen_by_the_next_unit_of_work(scratch_store: Engine, how: str) -> None:
    seed(scratch_store)
    assert lead(scratch_store) == "D1"
    with unit_of_work(scratch_store) as session:
        if how == "service":
            responsibility.set_cell(session, spec=CellSpec(category_code="E0101", area_code="990101",
                                                           lead_department_code="D2"))
        else:  # as a SQL console or another program would
            session.execute(text("UPDATE responsibilities SET lead_department_id = "
                                 "(SELECT id FROM departments WHERE code = 'D2')"))
    assert lead(scratch_store) == "D2"


def test_each_write_bumps_the_stamp_in_its_own_transaction(scratch_store: Engine) -> None:
    seed(scratch_store)

    def stamp() -> int:
        with unit_of_work(scratch_store) as session:
            return session.scalar(select(ChangeStamp.version).where(ChangeStamp.name == "reference"))

    before = stamp()
    with pytest.raises(RuntimeError), unit_of_work(scratch_store) as session:
        session.execute(text("UPDATE departments SET name = 'renamed' WHERE code = 'D1'"))
        raise RuntimeError("abandoned")
    assert stamp() == before
    with unit_of_work(scratch_store) as session:
        session.execute(text("UPDATE departments SET name = 'renamed' WHERE code = 'D1'"))
    assert stamp() > before


def test_what_a_writing_transaction_saw_is_never_shared(scratch_store: Engine) -> None:
    seed(scratch_store)
    with pytest.raises(RuntimeError), unit_of_work(scratch_store) as session:
        with pytest.raises(NotFound):
            categories_service.get_category(session, code="E0102")
        categories_service.create_category(session, code="E0102", name="积存垃圾", kind="event", parent_code="E01",
                                           origin="test")
        assert categories_service.get_category(session, code="E0102").name == "积存垃圾"
        # a raw write drops what this transaction had looked up since its last write
        session.execute(text("UPDATE categories SET name = '积存垃圾渣土' WHERE code = 'E0102'"))
        assert categories_service.get_category(session, code="E0102").name == "积存垃圾渣土"
        raise RuntimeError("abandoned")
    with unit_of_work(scratch_store) as session, pytest.raises(NotFound):
        categories_service.get_category(session, code="E0102")
    with unit_of_work(scratch_store) as session:
        assert categories_service.get_category(session, code="E0101").name == "暴露垃圾"
