"""Values the bulk import writes itself: datetimes as the ORM stores them on SQLite, and tracking
codes as intake makes them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import sqlite

from cityops.bulk import sqlite_utc
from cityops.cases.service import TRACKING_ALPHABET, new_tracking_code
from cityops.db import UTCDateTime
from cityops.history.bulk import _tracking_codes

ORM = UTCDateTime()._cached_bind_processor(sqlite.dialect())


@pytest.mark.parametrize("value", [
    datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime(2025, 1, 2, 3, 4, 5, 7, tzinfo=UTC),
    datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=8))),
    datetime(2025, 3, 9, 2, 30, fold=1, tzinfo=ZoneInfo("America/Los_Angeles")),
    datetime(2025, 6, 1, tzinfo=ZoneInfo("UTC")),
    datetime(999, 1, 1, 12, tzinfo=UTC),
])
def test_datetimes_are_written_as_the_orm_writes_them(value: datetime) -> None:
    assert sqlite_utc(value) == ORM(value)


def test_a_datetime_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_utc(datetime(2025, 1, 1))


def test_tracking_codes_look_like_intakes_and_use_every_character() -> None:
    codes = _tracking_codes(3000)
    assert len(codes) == 3000 and len(set(codes)) == 3000
    assert {len(c) for c in codes} == {len(new_tracking_code())}
    counts = Counter("".join(codes))
    assert set(counts) == set(TRACKING_ALPHABET)
    expected = 3000 * len(codes[0]) / len(TRACKING_ALPHABET)
    assert all(0.8 * expected < n < 1.2 * expected for n in counts.values())
