"""The city code derived from its districts' administrative codes."""

from cityops.geo.service import city_code_for


def test_a_prefecture_city_takes_its_four_digit_prefix() -> None:
    assert city_code_for({"320102", "320104", "320118"}, "南京市") == "320100"


def test_a_municipality_is_its_own_province() -> None:
    assert city_code_for({"310101", "310115"}, "上海市") == "310000"


def test_codes_that_are_not_administrative_fall_back_to_the_name() -> None:
    assert city_code_for({"A1", "B2"}, "Testville") == "Testville"
    assert city_code_for({"320102", "310101"}, "mixed") == "mixed"
    assert city_code_for(set(), "empty") == "empty"
