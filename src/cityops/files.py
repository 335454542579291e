"""Reading files people upload: size limits, text encodings and CSV headers, checked the same way
for every import (categories, the responsibility matrix, areas)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import BinaryIO

from cityops.errors import InvalidFile

MEGABYTE = 1024 * 1024


def read_limited(stream: BinaryIO, *, max_bytes: int) -> bytes:
    """The whole upload, or InvalidFile when it is larger than ``max_bytes``."""
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise InvalidFile(f"file larger than {max_bytes // MEGABYTE} MB", field="file")
    return raw


def decode_text(data: bytes | str) -> str:
    """UTF-8 (with or without a BOM) or GB18030, which Chinese spreadsheets often save."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidFile("the file is neither UTF-8 nor GB18030 text", field="file")


def csv_dict_reader(text: str, *, columns: Sequence[str], required: Sequence[str]) -> csv.DictReader:
    """A reader over ``text`` whose header has been checked: no unknown, missing or repeated column."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise InvalidFile("the file is empty; it needs a header row", field="header")
    unknown = [h for h in header if h not in columns]
    missing = [c for c in required if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise InvalidFile(f"bad header: columns are {', '.join(columns)}"
                          + (f"; unknown {', '.join(map(repr, unknown))}" if unknown else "")
                          + (f"; missing {', '.join(missing)}" if missing else "")
                          + ("; a column repeats" if len(set(header)) != len(header) else ""), field="header")
    reader.fieldnames = header
    return reader
