"""Placing a report by the area names in its address: the deepest agreeing name wins, a shared name
is settled by its district, and an address that settles nothing places nothing."""

from __future__ import annotations

from cityops.geo.gazetteer import Gazetteer
from cityops.geo.levels import AreaLevel
from cityops.geo.locator import AreaRef

CITY = AreaRef(1, "310000", "上海市", AreaLevel.city)
HUANGPU = AreaRef(2, "310101", "黄浦区", AreaLevel.district)
CHANGNING = AreaRef(3, "310105", "长宁区", AreaLevel.district)
NANJINGDONG = AreaRef(4, "310101002", "南京东路街道", AreaLevel.street)
XINHUA_HP = AreaRef(5, "310101099", "新华路街道", AreaLevel.street)  # one name in two districts
XINHUA_CN = AreaRef(6, "310105001", "新华路街道", AreaLevel.street)
CHAINS = [(CITY,), (CITY, HUANGPU), (CITY, CHANGNING), (CITY, HUANGPU, NANJINGDONG), (CITY, HUANGPU, XINHUA_HP),
          (CITY, CHANGNING, XINHUA_CN)]
GAZETTEER = Gazetteer(CHAINS)


def test_a_full_address_places_the_case_in_its_street() -> None:
    match = GAZETTEER.match("上海市黄浦区南京东路街道云南中路100号")
    assert match.chain == (CITY, HUANGPU, NANJINGDONG)
    assert match.named == ("上海市", "黄浦区", "南京东路街道") and not match.ambiguous


def test_a_street_alone_is_enough_and_spaces_or_full_width_forms_do_not_matter() -> None:
    assert GAZETTEER.match("南京东路 街道 ，福州路口").chain[-1] == NANJINGDONG


def test_a_shared_street_name_is_settled_by_the_district_beside_it() -> None:
    assert GAZETTEER.match("长宁区新华路街道番禺路").chain[-1] == XINHUA_CN
    assert GAZETTEER.match("黄浦区新华路街道").chain[-1] == XINHUA_HP


def test_an_unsettled_shared_name_gives_only_what_the_candidates_share_below_the_city() -> None:
    assert GAZETTEER.match("新华路街道番禺路口") is None  # only the city in common: no place to route to
    assert GAZETTEER.match("南京东路街道与新华路街道交界") is None  # the second could be in either district


def test_names_in_different_districts_meet_at_their_common_ancestor() -> None:
    match = Gazetteer([(CITY,), (CITY, HUANGPU), (CITY, HUANGPU, NANJINGDONG), (CITY, HUANGPU, XINHUA_HP)]).match(
        "南京东路街道、新华路街道")
    assert match.chain == (CITY, HUANGPU) and match.ambiguous


def test_a_road_named_like_a_street_is_not_the_street_and_no_name_places_nothing() -> None:
    assert GAZETTEER.match("南京东路100号") is None
    assert GAZETTEER.match("") is None
    assert GAZETTEER.match("人民广场附近") is None
