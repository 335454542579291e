"""The problem+json body (RFC 9457) every error of the API has, and its OpenAPI declaration."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA_REF = {"$ref": "#/components/schemas/ProblemOut"}
RESERVED_KEYS = frozenset({"type", "title", "status", "detail", "code", "instance"})


class ProblemOut(BaseModel):
    """An RFC 9457 problem: every error of the API has this shape."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="stable machine-readable code, e.g. invalid_input, unknown_category")
    field: str | None = Field(None, description="the offending field, for bad input")
    instance: str | None = None


def problem_body(*, status: int, code: str, title: str, detail: str, instance: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": f"https://cityops.dev/problems/{code}", "title": title, "status": status,
                            "detail": detail, "code": code}
    if instance:
        body["instance"] = instance
    clashes = RESERVED_KEYS & extra.keys()
    if clashes:
        raise ValueError(f"problem details may not redefine {sorted(clashes)}")
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring problem+json bodies for ``statuses``."""
    return {status: {"model": ProblemOut, "description": "a problem (RFC 9457)",
                     "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA_REF}}} for status in statuses}
