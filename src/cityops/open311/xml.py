"""Open311's XML form of a JSON answer (the spec's "Spark convention", read backwards): an object is an
element with one child per field, a list is an element holding one child per item, named by the
singular of the list's name (``services`` → ``service``), ``null`` an empty element and booleans
``true``/``false``. Text is escaped by ElementTree; characters XML 1.0 cannot carry at all (most
control characters) are dropped, so the answer always parses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

MEDIA_TYPE = "text/xml"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
ITEM_TAGS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
             "values": "value", "endpoints": "endpoint", "formats": "format"}
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ElementTree.Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ElementTree.SubElement(element, key), item)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        child_tag = ITEM_TAGS[element.tag]
        for item in value:
            _fill(ElementTree.SubElement(element, child_tag), item)
    else:
        element.text = _text(value)


def render(root: str, value: Any) -> bytes:
    """``value`` (JSON-ready data: dicts, lists, strings, numbers, booleans, None) as an XML document
    whose root element is ``root``, with the UTF-8 declaration the spec asks for."""
    element = ElementTree.Element(root)
    _fill(element, value)
    return DECLARATION + ElementTree.tostring(element, encoding="unicode").encode()
