"""How Open311 GeoReport v2 maps onto the closed loop: statuses, status notes, the query filters and
the checks of a submission. Pure functions over plain values, tested without a database."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cityops.cases.lifecycle import Action, CaseStatus
from cityops.cases.states import FINISHED_STATUSES
from cityops.errors import InvalidInput

CLOSED_STATUSES = FINISHED_STATUSES
"""Open311's ``closed``: a case with nothing left to do."""
STATUS_WORDS: Mapping[CaseStatus, str] = {
    CaseStatus.reported: "received, waiting to be registered",
    CaseStatus.registered: "registered, waiting to be sent to a department",
    CaseStatus.dispatched: "sent to the responsible department",
    CaseStatus.in_progress: "being handled",
    CaseStatus.returned: "being sent to another department",
    CaseStatus.handled: "handled, waiting to be checked",
    CaseStatus.closed: "closed",
    CaseStatus.rejected: "not accepted",
    CaseStatus.merged: "a duplicate",
}
# Reasons the public may read: why a report was refused or closed, what the handler did, what a
# check found. Returns, reassignments and routing notes stay inside the platform.
PUBLIC_REASONS = frozenset({Action.reject, Action.close, Action.verify, Action.report, Action.reopen})

QUERY_WINDOW = timedelta(days=90)
"""The spec's default and longest span of a search by date."""
MAX_RESULTS = 1000
"""The spec's default cap on one answer."""
MAX_DESCRIPTION = 4000
EARLIEST_YEAR, LATEST_YEAR = 1900, 9000  # far from datetime's limits, so the 90-day window never overflows
TITLE_LENGTH = 200
PHONE = re.compile(r"^[0-9+\-() ]{3,32}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")
_ID = re.compile(r"^[0-9]{1,10}$")


def public_status(status: CaseStatus) -> str:
    return "closed" if status in CLOSED_STATUSES else "open"


def status_notes(status: CaseStatus, *, action: Action, reason: str | None, duplicate_of: int | None) -> str:
    """The status in words, with the reason of the move that led to it when the public may read it."""
    if status is CaseStatus.merged and duplicate_of is not None:
        return f"a duplicate of request {duplicate_of}, which is followed instead"
    words = STATUS_WORDS[status]
    return f"{words}: {reason}" if reason and action in PUBLIC_REASONS else words


def title_for(description: str, service_name: str) -> str:
    """A case's title: the description's first line, or the service's name when there is none."""
    first = next((line.strip() for line in description.splitlines() if line.strip()), "")
    return (first or service_name)[:TITLE_LENGTH]


def _text(value: str | None, field: str, max_length: int) -> str | None:
    """A form value, stripped; empty counts as absent (the spec's optional arguments)."""
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > max_length:
        raise InvalidInput(f"{field} has at most {max_length} characters", field=field)
    if "\x00" in value:
        raise InvalidInput(f"{field} contains a NUL character", field=field)
    return value


def _coordinate(value: str | None, field: str, limit: float) -> float | None:
    text = _text(value, field, 32)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise InvalidInput(f"{field} must be a number (WGS84 degrees)", field=field) from None
    if not math.isfinite(number) or abs(number) > limit:
        raise InvalidInput(f"{field} must lie between -{limit:g} and {limit:g}", field=field)
    return number


@dataclass(frozen=True)
class Submission:
    """A POST requests form, checked."""

    service_code: str
    lat: float | None
    lon: float | None
    address: str | None
    description: str
    reporter_name: str | None
    phone: str | None
    email: str | None
    media_url: str | None
    account_id: str | None


def submission(form: Mapping[str, str | None]) -> Submission:
    """Check a POST requests form: a service, a location (lat and long, or an address) and the rest
    within the spec's limits. Raises ``InvalidInput`` naming the field."""
    service_code = _text(form.get("service_code"), "service_code", 64)
    if service_code is None:
        raise InvalidInput("service_code is required (see services.json)", field="service_code")
    lat = _coordinate(form.get("lat"), "lat", 90)
    lon = _coordinate(form.get("long"), "long", 180)
    if (lat is None) != (lon is None):
        raise InvalidInput("give both lat and long, or neither", field="lat" if lat is None else "long")
    address = _text(form.get("address_string"), "address_string", 500)
    if _text(form.get("address_id"), "address_id", 128) is not None and address is None and lat is None:
        raise InvalidInput("address_id cannot be resolved here: give lat and long, or address_string",
                           field="address_id")
    if lat is None and address is None:
        raise InvalidInput("a location is required: lat and long, or address_string", field="lat")
    phone = _text(form.get("phone"), "phone", 32)
    if phone is not None and not PHONE.match(phone):
        raise InvalidInput("phone may hold digits, spaces and + - ( ) only", field="phone")
    email = _text(form.get("email"), "email", 254)
    if email is not None and not EMAIL.match(email):
        raise InvalidInput("email is not an e-mail address", field="email")
    media_url = _text(form.get("media_url"), "media_url", 1000)
    if media_url is not None and not re.match(r"^https?://[^\s]+$", media_url):
        raise InvalidInput("media_url must be an http or https URL", field="media_url")
    names = [n for n in (_text(form.get("first_name"), "first_name", 50),
                         _text(form.get("last_name"), "last_name", 50)) if n]
    return Submission(service_code=service_code, lat=lat, lon=lon, address=address,
                      description=_text(form.get("description"), "description", MAX_DESCRIPTION) or "",
                      reporter_name=" ".join(names) or None, phone=phone, email=email, media_url=media_url,
                      account_id=_text(form.get("account_id"), "account_id", 128))


def parse_time(value: str | None, field: str) -> datetime | None:
    """A w3 date-time with its offset (``2010-01-01T00:00:00Z``); absent when empty."""
    text = _text(value, field, 40)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} must be an ISO 8601 date-time such as 2010-01-01T00:00:00Z",
                           field=field) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{field} needs a time zone: Z or an offset such as +08:00", field=field)
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise InvalidInput(f"{field} must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR}", field=field)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class RequestQuery:
    """The filters of GET requests. ``ids``, when given, overrides all the others (per spec)."""

    ids: tuple[int, ...] | None = None
    service_codes: tuple[str, ...] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: frozenset[CaseStatus] | None = None


def _listed(value: str | None, field: str) -> tuple[str, ...] | None:
    text = _text(value, field, 20_000)
    if text is None:
        return None
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip())) or None


def request_query(*, service_request_id: str | None, service_code: str | None, start_date: str | None,
                  end_date: str | None, status: str | None, now: datetime) -> RequestQuery:
    """The filters of GET requests, checked. Without dates the search covers the last 90 days; with
    one date the other lies 90 days away; a longer span is refused."""
    ids = _listed(service_request_id, "service_request_id")
    if ids is not None:
        if len(ids) > MAX_RESULTS or not all(_ID.match(i) for i in ids):
            raise InvalidInput(f"service_request_id takes up to {MAX_RESULTS} comma-separated request ids",
                               field="service_request_id")
        return RequestQuery(ids=tuple(int(i) for i in ids))
    start, end = parse_time(start_date, "start_date"), parse_time(end_date, "end_date")
    if end is None:
        end = start + QUERY_WINDOW if start is not None else now
    start = start if start is not None else end - QUERY_WINDOW
    if start > end:
        raise InvalidInput("start_date lies after end_date", field="start_date")
    if end - start > QUERY_WINDOW:
        raise InvalidInput("a search may span at most 90 days", field="end_date")
    words = _listed(status, "status")
    statuses = None
    if words is not None:
        unknown = [w for w in words if w not in ("open", "closed")]
        if unknown:
            raise InvalidInput("status takes open, closed or both (comma-separated)", field="status")
        statuses = frozenset(s for s in CaseStatus if public_status(s) in words)
    return RequestQuery(service_codes=_listed(service_code, "service_code"), start=start, end=end,
                        statuses=statuses)
