"""The inbox's cursor: it reads back as the line it was made at; anything else is bad input naming
the cursor, with its own code."""

from __future__ import annotations

import base64

import pytest

from cityops.errors import InvalidInput
from cityops.notify import paging


@pytest.mark.parametrize("last_id", [1, 7, 45, 2**31 - 1])
def test_a_cursor_reads_back_as_the_line_it_was_made_at(last_id: int) -> None:
    text = paging.encode(last_id)
    assert text.isascii() and "=" not in text and str(last_id) not in text
    assert paging.decode(text) == last_id


def _forged(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize("text", [
    "",
    "%%%",
    "é",
    _forged(b"\xff\xfe"),
    _forged(b"[1, 2]"),
    _forged(b"7"),
    _forged(b"{}"),
    _forged(b'{"b":0}'),
    _forged(b'{"b":-3}'),
    _forged(b'{"b":2147483648}'),
    _forged(b'{"b":true}'),
    _forged(b'{"b":4.0}'),
    _forged(b'{"b":"4"}'),
    _forged(b'{"b":null}'),
    _forged(b'{"b":4,"u":true}'),
    _forged(b'{"o":"newest","k":null,"i":4}'),  # a work queue's cursor
])
def test_a_cursor_not_given_out_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        paging.decode(text)
    assert (refused.value.code, refused.value.field) == ("bad_cursor", "cursor")
