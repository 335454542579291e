"""Reading and cross-checking the demo's public data: mismatches are reported, never hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import box

from cityops.demo.catalogue import CITIES
from cityops.demo.sources import StreetRecord, cross_check, read_city, read_street_listing
from cityops.errors import InvalidFile, InvalidInput
from cityops.geo.geojson import ParsedFeature
from tests.conftest import SHARED_DATA, needs_shared_data

LISTING = """id,pid,deep,name,pinyin_prefix,pinyin,ext_id,ext_name
31,0,0,上海,s,shang hai,310000000000,上海市
3101,31,1,上海,s,shang hai,310100000000,上海市
310101,3101,2,黄浦,h,huang pu,310101000000,黄浦区
310101013,310101,3,外滩,w,wai tan,310101013000,外滩街道
310101002,310101,3,南京东路,n,nan jing dong lu,310101002000,南京东路街道
310104,3101,2,徐汇,x,xu hui,310104000000,徐汇区
310104003,310104,3,天平路,t,tian ping lu,310104003000,天平路街道
3201,32,1,南京,n,nan jing,320100000000,南京市
320102,3201,2,玄武,x,xuan wu,320102000000,玄武区
320102002,320102,3,梅园新村,m,mei yuan xin cun,320102002000,梅园新村街道
"""


def feature(code: str, name: str, repaired: str | None = None) -> ParsedFeature:
    return ParsedFeature(index=0, code=code, name=name, geometry=box(0, 0, 1, 1), repaired=repaired,
                         properties={})


def test_listing_keeps_one_city_with_official_names_in_code_order() -> None:
    districts, streets = read_street_listing(LISTING, city_id="3101")
    assert districts == {"310101": "黄浦区", "310104": "徐汇区"}
    assert streets["310101"] == [StreetRecord("310101002", "南京东路街道", "310101"),
                                 StreetRecord("310101013", "外滩街道", "310101")]
    assert read_street_listing(LISTING, city_id="3201")[0] == {"320102": "玄武区"}


def test_listing_without_the_needed_columns_is_rejected() -> None:
    with pytest.raises(InvalidFile, match="ext_name"):
        read_street_listing("id,pid,deep,name\n1,0,0,x\n", city_id="3101")


def test_matching_files_give_no_warnings() -> None:
    districts, streets = read_street_listing(LISTING, city_id="3101")
    source = cross_check([feature("310104", "徐汇区"), feature("310101", "黄浦区")], districts, streets)
    assert source.warnings == []
    assert [f.code for f in source.districts] == ["310101", "310104"]


def test_every_mismatch_is_reported() -> None:
    districts, streets = read_street_listing(LISTING, city_id="3101")
    districts["310199"] = "空区"
    features = [feature("310101", "黄埔区"), feature("310106", "静安区", repaired="Self-intersection"),
                feature("310199", "空区")]
    source = cross_check(features, districts, streets)
    assert source.warnings == [
        "district 310106 静安区 has a boundary but is not in the street listing: loaded without streets",
        "district 310104 徐汇区 is in the street listing but has no boundary: its 1 street(s) are left out",
        "district 310101 is 黄埔区 in the boundary file but 黄浦区 in the street listing",
        "district 310199 空区 has no streets in the listing",
        "district 310106 静安区: Self-intersection",
    ]
    assert set(source.streets) == {"310101"}


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_city(CITIES["shanghai"], data_dir=tmp_path)
    assert caught.value.code == "demo_data_missing" and caught.value.field == "shared_data_dir"
    assert str(tmp_path / "china") in caught.value.detail


@needs_shared_data
@pytest.mark.parametrize(("city", "districts", "streets", "repaired"), [
    ("shanghai", 16, 216, []), ("nanjing", 11, 103, ["320114", "320118"])])
def test_the_shared_files_agree(city: str, districts: int, streets: int, repaired: list[str]) -> None:
    source = read_city(CITIES[city], data_dir=SHARED_DATA)
    assert len(source.districts) == districts
    assert sum(len(found) for found in source.streets.values()) == streets
    assert [w.split()[1] for w in source.warnings] == repaired
    assert all(f.geometry.is_valid for f in source.districts)
