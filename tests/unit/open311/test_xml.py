"""Open311's XML form of the JSON answers: escaped, well formed whatever the text, lists by singular."""

from __future__ import annotations

from xml.etree import ElementTree

from cityops.open311 import xml


def test_lists_hold_one_element_per_item_named_by_the_singular() -> None:
    document = xml.render("services", [{"service_code": "E0102", "metadata": False, "group": None},
                                       {"service_code": "C0101", "metadata": True, "group": "公用设施"}])
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ElementTree.fromstring(document)
    assert [s.findtext("service_code") for s in root.findall("service")] == ["E0102", "C0101"]
    assert [s.findtext("metadata") for s in root] == ["false", "true"]
    assert root[0].find("group").text is None and root[1].findtext("group") == "公用设施"


def test_nested_objects_and_lists_follow_the_same_rule() -> None:
    root = ElementTree.fromstring(xml.render("discovery", {"changeset": "2025-01-01T00:00:00Z", "endpoints": [
        {"url": "http://x/open311/v2", "formats": ["text/xml", "application/json"]}]}))
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_markup_is_escaped_and_characters_xml_cannot_carry_are_dropped() -> None:
    text = '<b>"垃圾" & 杂物</b>\n第二行\x00\x07\x1b\ud800 end'
    document = xml.render("service_requests", [{"description": text, "lat": 31.05}])
    request = ElementTree.fromstring(document).find("request")
    assert request.findtext("description") == '<b>"垃圾" & 杂物</b>\n第二行 end'
    assert request.findtext("lat") == "31.05"
    assert b"<b>" not in document
