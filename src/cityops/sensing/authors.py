"""Who wrote warning rules, silences and indicators: each records its author's name as it was (a user's
login name, an API client's name, or a system's such as 演示模拟器) and, for a user, the user's id, so
that an API client named like some user's login is never shown as that user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from cityops.org import service as org_service
from cityops.org.access import Principal


class Authored(Protocol):
    author: str
    author_user_id: int | None


def user_id_of(author: Principal) -> int | None:
    """The user ``author`` is, if a user: None for API clients, systems and the synthetic principals of id 0
    (the command line's, the demo's), which are no user."""
    return author.id if author.kind == "user" and author.id else None


def shown(session: Session, rows: Sequence[Authored]) -> list[str]:
    """The names to show for ``rows``' authors, in order, looked up together: a user's current display name,
    else the author as recorded (an API client, a system, a user no longer on record or without a display
    name)."""
    names = org_service.display_names(session, users={
        (row.author_user_id, row.author) for row in rows if row.author_user_id is not None})
    return [names.get((row.author_user_id, row.author), row.author) for row in rows]
