"""Moments as every domain keeps them: timezone-aware datetimes in UTC, checked where they come in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cityops.errors import InvalidInput


def as_utc(value: Any, *, field: str) -> datetime:
    """An aware datetime (or ISO 8601 text with an offset) in UTC; anything else is bad input."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{field} must be an ISO 8601 date and time, not {value!r}", field=field) from None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(f"{field} must be a date and time with a UTC offset", field=field)
    return value.astimezone(UTC)


def zoned(value: datetime | None, field: str) -> datetime | None:
    """A query parameter's moment in UTC, or None; one without a zone is bad input (whose midnight?)."""
    if value is not None and value.utcoffset() is None:
        raise InvalidInput(f"{field} must carry a zone", field=field)
    return value.astimezone(UTC) if value is not None else None
