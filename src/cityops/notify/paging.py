"""The inbox's cursor: an inbox is read newest first, so the next page holds the lines older than the
last one of a page, whatever came in meanwhile. Pure, no session.

The cursor is opaque to callers, as the work queues' are (``cases.ordering``): URL-safe base64 of a
small JSON object. One the API did not give out is refused rather than read as some other place."""

from __future__ import annotations

import base64
import binascii
import json

from cityops.errors import InvalidInput

NOT_GIVEN_OUT = "cursor is not one this API gave out; start again without it"


def encode(last_id: int) -> str:
    """The cursor of a page whose last (oldest) line is ``last_id``."""
    raw = json.dumps({"b": last_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(text: str) -> int:
    """The id the lines of the next page are older than."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput(NOT_GIVEN_OUT, code="bad_cursor", field="cursor") from None
    before = raw.get("b") if isinstance(raw, dict) and raw.keys() == {"b"} else None
    if not isinstance(before, int) or isinstance(before, bool) or not 1 <= before < 2**31:
        raise InvalidInput(NOT_GIVEN_OUT, code="bad_cursor", field="cursor")
    return before
