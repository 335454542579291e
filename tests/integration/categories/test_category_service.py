"""The category service on SQLite and PostgreSQL: seed, CSV round trip, all-or-nothing imports,
tree rules and inherited time limits."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.categories import service
from cityops.categories.models import Category
from cityops.categories.service import CategoryKind
from cityops.categories.time_limits import Step, parse_limit
from cityops.errors import Conflict, InvalidFile, InvalidInput, NotFound
from tests.conftest import SHARED_DATA, needs_shared_data

HEADER = "code,name,kind,parent_code,register,dispatch,acknowledge,handle,verify,active\n"
SEED = resources.files("cityops.categories").joinpath("data", "city_management.csv").read_text("utf-8")
TAXONOMY = SHARED_DATA / "complaints_zh" / "fujian1_label_taxonomy.csv"


def snapshot(session: Session) -> list[tuple]:
    return [tuple(r) for r in session.execute(select(Category.code, Category.name, Category.kind,
                                                     Category.parent_id, Category.depth, Category.time_limits,
                                                     Category.active).order_by(Category.code))]


def rejected_rows(exc: InvalidFile) -> list[tuple[int, str]]:
    return [(p["row"], p["field"]) for p in exc.extra["rows"]]


@pytest.fixture
def seeded(session: Session) -> Session:
    service.seed_city_management(session)
    return session


def test_seed_holds_the_standard_major_classes_with_real_subclasses(seeded: Session) -> None:
    majors, _ = service.list_categories(seeded, depth=0, limit=None)
    assert {(m.code, m.name) for m in majors} == {
        ("C01", "公用设施"), ("C02", "道路交通"), ("C03", "市容环境"), ("C04", "园林绿化"),
        ("C05", "房屋土地"), ("C06", "其他设施"), ("C07", "扩展部件"), ("E01", "市容环境"),
        ("E02", "宣传广告"), ("E03", "施工管理"), ("E04", "突发事件"), ("E05", "街面秩序"),
        ("E06", "扩展事件")}
    assert service.get_category(seeded, code="C0101").name == "上水井盖"
    assert service.get_category(seeded, code="C0102").name == "污水井盖"
    assert service.get_category(seeded, code="E0101").name == "私搭乱建"
    assert service.get_category(seeded, code="E0102").name == "暴露垃圾"
    for major in majors:
        children, total = service.list_categories(seeded, parent_code=major.code)
        assert total >= 3 and all(c.kind == major.kind and c.depth == 1 for c in children)
        assert set(major.time_limits) == set(Step), f"{major.code} must set every step"


def test_seed_then_export_reproduces_the_seed_file_and_reseeding_changes_nothing(seeded: Session) -> None:
    assert service.export_csv(seeded) == SEED
    before = snapshot(seeded)
    report = service.seed_city_management(seeded)
    assert (report.created, report.updated, report.unchanged) == (0, 0, report.rows)
    assert snapshot(seeded) == before


def test_export_then_import_into_the_same_store_is_a_no_op(seeded: Session) -> None:
    service.update_category(seeded, code="E0110", active=False)
    exported = service.export_csv(seeded)
    report = service.import_csv(seeded, data=exported.encode())
    assert report.updated == report.created == 0
    assert service.export_csv(seeded) == exported
    assert "E0110,清扫作业二次污染,event,E01,,,,2wh,,false" in exported


def test_reimport_updates_known_codes_adds_new_ones_and_deletes_nothing(seeded: Session) -> None:
    total = seeded.scalar(select(func.count()).select_from(Category))
    report = service.import_csv(seeded, data=HEADER + "E0102,暴露垃圾（街面）,event,E01,,,,2wh,,true\n"
                                                      "E0199,其他市容问题,event,E01,,,,,,\n")
    assert (report.rows, report.created, report.updated, report.unchanged) == (2, 1, 1, 0)
    assert seeded.scalar(select(func.count()).select_from(Category)) == total + 1
    assert service.get_category(seeded, code="E0102").name == "暴露垃圾（街面）"
    assert service.get_category(seeded, code="E0102").time_limits == {Step.handle: parse_limit("2wh")}
    assert service.get_category(seeded, code="E0199").active


def test_one_bad_row_imports_nothing_and_every_bad_row_is_reported(seeded: Session) -> None:
    before = snapshot(seeded)
    text = HEADER + "\n".join([
        "N01,good major,event,,,,,,,",            # 2: fine on its own
        "N0101,unknown parent,event,NOPE,,,,,,",  # 3
        "N0102,bad limit,event,N01,,,,4 hours,,",  # 4
        "N0103,bad kind,thing,N01,,,,,,",          # 5
        "N0104,wrong kind parent,component,N01,,,,,,",  # 6
        "N01,duplicate,event,,,,,,,",              # 7
        "N0105,cycle a,event,N0106,,,,,,",         # 8
        "N0106,cycle b,event,N0105,,,,,,",         # 9
        "n0107,lower case,event,N01,,,,,,",        # 10
        "N0108,,event,N01,,,,,,",                  # 11: no name
        "N0109,bad active,event,N01,,,,,,maybe",   # 12
        "C0101,kind change,event,,,,,,,",          # 13: C0101 is a component
        "N0110,child of a rejected row,event,N0102,,,,,,",  # 14: not reported again
    ]) + "\n"
    with pytest.raises(InvalidFile) as caught:
        service.import_csv(seeded, data=text)
    assert rejected_rows(caught.value) == [
        (3, "parent_code"), (4, "handle"), (5, "kind"), (6, "parent_code"), (7, "code"), (8, "parent_code"),
        (9, "parent_code"), (10, "code"), (11, "name"), (12, "active"), (13, "kind")]
    assert caught.value.code == "invalid_file" and caught.value.status == 422
    assert "nothing was imported" in caught.value.detail
    assert snapshot(seeded) == before


def test_a_cycle_through_stored_categories_is_refused(seeded: Session) -> None:
    with pytest.raises(InvalidFile) as caught:
        service.import_csv(seeded, data=HEADER + "E01,市容环境,event,E0101,,,,,,\n")
    assert "cycle: E01 → E0101 → E01" in caught.value.extra["rows"][0]["reason"]


@pytest.mark.parametrize(("text", "needle"), [
    ("code,name\nX1,x\n", "missing kind"),
    ("code,name,kind,colour\nX1,x,event,red\n", "unknown 'colour'"),
    ("code,name,kind,kind\nX1,x,event,event\n", "a column repeats"),
    ("", "empty"),
])
def test_a_bad_header_is_refused_as_a_whole(session: Session, text: str, needle: str) -> None:
    with pytest.raises(InvalidFile, match=needle) as caught:
        service.import_csv(session, data=text)
    assert caught.value.field == "header"


def test_reads_utf8_with_bom_and_gb18030(session: Session) -> None:
    text = "code,name,kind\nX1,井盖,component\n"
    service.import_csv(session, data=b"\xef\xbb\xbf" + text.encode())
    service.import_csv(session, data=text.replace("X1", "X2").encode("gb18030"))
    names = {service.get_category(session, code=code).name for code in ("X1", "X2")}
    assert names == {"井盖"}


def test_deactivating_carries_down_and_no_active_class_sits_under_an_inactive_one(seeded: Session) -> None:
    service.update_category(seeded, code="E04", active=False)
    assert not any(c.active for c in service.list_categories(seeded, parent_code="E04")[0])
    with pytest.raises(InvalidInput) as caught:
        service.update_category(seeded, code="E0401", active=True)
    assert caught.value.field == "active"
    report = service.import_csv(seeded, data=HEADER + "E05,街面秩序,event,,,,,2wh,,false\n")
    assert report.deactivated == len(service.list_categories(seeded, parent_code="E05")[0])
    tree = service.category_tree(seeded, kind=CategoryKind.event, active_only=True)
    assert [n.category.code for n in tree] == ["E01", "E02", "E03", "E06"]


def test_create_checks_code_name_parent_and_duplicates(seeded: Session) -> None:
    created = service.create_category(seeded, code="E0199", name="其他", kind=CategoryKind.event,
                                      parent_code="E01", time_limits={"handle": "3wd", "verify": None})
    assert (created.depth, created.parent_code) == (1, "E01")
    assert created.time_limits == {Step.handle: parse_limit("3wd")}
    with pytest.raises(Conflict):
        service.create_category(seeded, code="E0199", name="again", kind=CategoryKind.event)
    with pytest.raises(NotFound) as caught:
        service.create_category(seeded, code="E0198", name="x", kind=CategoryKind.event, parent_code="E99")
    assert (caught.value.code, caught.value.field) == ("unknown_category", "parent_code")
    for bad in [dict(code="e1", name="x"), dict(code="E-1", name=" "), dict(code="-E1", name="x"),
                dict(code="E1", name="x", time_limits={"handle": "soon"}),
                dict(code="E1", name="x", parent_code="C01")]:
        with pytest.raises(InvalidInput):
            service.create_category(seeded, kind=CategoryKind.event, **bad)


def test_moving_a_category_recomputes_depths_and_refuses_cycles(seeded: Session) -> None:
    service.create_category(seeded, code="E010201", name="小区暴露垃圾", kind=CategoryKind.event,
                            parent_code="E0102")
    service.update_category(seeded, code="E0102", parent_code=None)
    assert service.get_category(seeded, code="E0102").depth == 0
    assert service.get_category(seeded, code="E010201").depth == 1
    with pytest.raises(InvalidInput, match="cycle"):
        service.update_category(seeded, code="E0102", parent_code="E010201")
    with pytest.raises(InvalidInput):
        service.update_category(seeded, code="E0102", parent_code="E0102")


def test_update_sets_and_clears_single_steps(seeded: Session) -> None:
    service.update_category(seeded, code="E0102", time_limits={"verify": "1h"})
    assert service.get_category(seeded, code="E0102").time_limits == {
        Step.handle: parse_limit("4wh"), Step.verify: parse_limit("1h")}
    service.update_category(seeded, code="E0102", time_limits={"handle": None}, name="暴露垃圾")
    limits = service.category_limits(seeded, code="E0102")
    assert (str(limits[Step.handle].limit), limits[Step.handle].source) == ("1wd", "E01")
    assert (str(limits[Step.verify].limit), limits[Step.verify].source) == ("1h", "E0102")


def test_chain_runs_upwards_and_limits_fall_back_to_the_platform_default(seeded: Session) -> None:
    assert [c.code for c in service.category_chain(seeded, code="C0101")] == ["C0101", "C01"]
    service.create_category(seeded, code="Z1", name="no limits", kind=CategoryKind.event)
    limits = service.category_limits(seeded, code="Z1")
    assert all(r.source is None and r.limit == service.PLATFORM_DEFAULT_LIMITS[s] for s, r in limits.items())
    with pytest.raises(NotFound):
        service.category_chain(seeded, code="NOPE")


def test_list_filters(seeded: Session) -> None:
    items, total = service.list_categories(seeded, kind=CategoryKind.component, q="井盖", limit=5)
    assert total >= 12 and len(items) == 5 and all("井盖" in c.name for c in items)
    assert service.list_categories(seeded, active=False)[1] == 0
    with pytest.raises(NotFound):
        service.list_categories(seeded, parent_code="NOPE")


@needs_shared_data
def test_message_taxonomy_becomes_a_three_level_tree_numbered_in_file_order(session: Session) -> None:
    report = service.import_message_taxonomy(session, path=TAXONOMY)
    roots, _ = service.list_categories(session, kind=CategoryKind.message, depth=0, limit=None)
    seconds = service.list_categories(session, kind=CategoryKind.message, depth=1, limit=None)[1]
    leaves = service.list_categories(session, kind=CategoryKind.message, depth=2, limit=None)[1]
    assert (len(roots), seconds, leaves, report.created) == (15, 118, 517, 15 + 118 + 517)
    assert [(c.code, c.name) for c in service.category_chain(session, code="M010101")] == [
        ("M010101", "事故处理"), ("M0101", "安全生产"), ("M01", "城乡建设")]
    by_name: dict[str, set[str]] = {}
    for record in service.list_categories(session, kind=CategoryKind.message, depth=1, limit=None)[0]:
        by_name.setdefault(record.name, set()).add(record.parent_code)
    assert any(len(parents) > 1 for parents in by_name.values()), "a 二级 name under two 一级 is two nodes"
    assert service.import_message_taxonomy(session, path=TAXONOMY).unchanged == report.rows


def test_a_taxonomy_with_more_classes_under_one_parent_than_two_digits_number_is_refused(
        session: Session, tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.csv"
    path.write_text("一级分类,二级分类,三级分类\n" + "".join(f"城乡建设,安全生产,事项{n}\n" for n in range(100)),
                    encoding="utf-8")
    with pytest.raises(InvalidFile) as caught:
        service.import_message_taxonomy(session, path=path)
    (refused,) = caught.value.extra["rows"]
    assert (refused["row"], refused["field"], refused["code"], refused["value"], refused["max"]) == (
        101, "三级分类", "too_many_classes", "事项99", 99)
    assert session.scalar(select(func.count()).select_from(Category)) == 0


def test_a_bad_taxonomy_file_imports_nothing(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.csv"
    path.write_text("一级分类,二级分类,三级分类\n城乡建设,安全生产,事故处理\n城乡建设,,安全隐患\n"
                    "城乡建设,安全生产,事故处理\n", encoding="utf-8")
    with pytest.raises(InvalidFile) as caught:
        service.import_message_taxonomy(session, path=path)
    assert rejected_rows(caught.value) == [(3, "二级分类"), (4, "三级分类")]
    repeated = caught.value.extra["rows"][1]  # the screens say it by its code, with the class and its first row
    assert (repeated["code"], repeated["value"], repeated["first_row"]) == (
        "class_repeated", "城乡建设 / 安全生产 / 事故处理", 2)
    assert session.scalar(select(func.count()).select_from(Category)) == 0
    path.write_text("一级,二级,三级\n", encoding="utf-8")
    with pytest.raises(InvalidFile, match="bad header"):
        service.import_message_taxonomy(session, path=path)
