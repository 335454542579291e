"""The one error hierarchy of CityOps.

Services raise these; they never raise HTTP errors. The API renders every one as RFC 9457
``application/problem+json`` with a stable ``code`` (and ``field`` for bad input)::

    CityOpsError                 500 internal
    ├── InvalidInput             422 invalid_input        bad value in a request, file or row
    │   └── InvalidFile          422 invalid_file         a whole file cannot be read (GeoJSON, CSV)
    ├── NotFound                 404 not_found            unknown id or code (or outside the caller's view)
    ├── Conflict                 409 conflict             duplicate code, state that forbids the change
    ├── NotAuthenticated         401 not_authenticated    missing, bad or expired credentials
    ├── PermissionDenied         403 permission_denied    the caller's role may not do this
    │   └── OutsideJurisdiction  403 outside_jurisdiction the record lies outside the caller's area
    └── ServiceUnavailable       503 unavailable          a store or broker cannot be reached

Subclasses may refine ``code`` (e.g. ``duplicate_code``) but keep their parent's status.
"""

from __future__ import annotations

from typing import Any

from cityops.problems import problem_body


class CityOpsError(Exception):
    status = 500
    code = "internal"
    title = "Internal error"

    def __init__(self, detail: str, *, code: str | None = None, field: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.field = field
        self.extra = extra or {}

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        return problem_body(status=self.status, code=self.code, title=self.title, detail=self.detail,
                            instance=instance, field=self.field, **self.extra)


class InvalidInput(CityOpsError):
    status = 422
    code = "invalid_input"
    title = "Invalid input"


class InvalidFile(InvalidInput):
    code = "invalid_file"
    title = "Invalid file"


class NotFound(CityOpsError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(CityOpsError):
    status = 409
    code = "conflict"
    title = "Conflict"


class NotAuthenticated(CityOpsError):
    status = 401
    code = "not_authenticated"
    title = "Not authenticated"


class PermissionDenied(CityOpsError):
    status = 403
    code = "permission_denied"
    title = "Permission denied"


class OutsideJurisdiction(PermissionDenied):
    code = "outside_jurisdiction"
    title = "Outside jurisdiction"


class TooManyRequests(CityOpsError):
    """Anonymous callers are rate-limited; ``retry_after_s`` becomes the Retry-After header."""

    status = 429
    code = "too_many_requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: float, code: str | None = None) -> None:
        self.retry_after_s = max(1, round(retry_after_s))
        super().__init__(detail, code=code, extra={"retry_after_s": self.retry_after_s})


class ServiceUnavailable(CityOpsError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"
