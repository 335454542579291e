"""Counts of cases for the vital signs (``cityops.sensing`` indicators) and the city dashboard: windowed by
the time cases were opened, or of the cases open now. Each count reads one window or the open cases only
(``opened_at`` and ``(status, area_path)`` are indexed), never the whole history. Counts come per area
path (where each case is filed), per period or per category; the caller folds them into the areas, days
and classes it reports on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from cityops.cases.models import Case, CaseDeadline
from cityops.categories import service as categories_service
from cityops.categories.service import TreeNode
from cityops.errors import NotFound


def category_subtree(session: Session, *, code: str) -> list[int]:
    """The ids of category ``code`` and all its subclasses."""
    def find(nodes: Sequence[TreeNode]) -> TreeNode | None:
        for node in nodes:
            if node.category.code == code:
                return node
            found = find(node.children)
            if found is not None:
                return found
        return None

    root = find(categories_service.category_tree(session))
    if root is None:
        raise NotFound(f"no category with code {code!r}", code="unknown_category", field="source.category")
    codes, stack = [], [root]
    while stack:
        node = stack.pop()
        codes.append(node.category.code)
        stack.extend(node.children)
    return list(categories_service.category_ids(session, codes=codes).values())


def _filtered(query, *, within_path: str, channels: Sequence[str], category_ids: Sequence[int] | None,  # noqa: ANN001, ANN202
              statuses: Sequence[str]):
    query = query.where(Case.area_path.startswith(within_path, autoescape=True))
    if channels:
        query = query.where(Case.channel.in_(list(channels)))
    if category_ids is not None:
        query = query.where(Case.category_id.in_(list(category_ids)))
    if statuses:
        query = query.where(Case.status.in_(list(statuses)))
    return query.group_by(Case.area_path)


def opened_per_area(session: Session, *, since: datetime, until: datetime, within_path: str,
                    channels: Sequence[str] = (), category_ids: Sequence[int] | None = None,
                    statuses: Sequence[str] = ()) -> list[tuple[str, int]]:
    """(area path, count) of the cases opened in [since, until) under ``within_path``; ``statuses`` are
    the cases' current statuses (empty: any)."""
    query = select(Case.area_path, func.count()).where(Case.opened_at >= since, Case.opened_at < until)
    return [(path, count) for path, count in session.execute(_filtered(
        query, within_path=within_path, channels=channels, category_ids=category_ids, statuses=statuses))]


def open_per_area(session: Session, *, statuses: Sequence[str], within_path: str, channels: Sequence[str] = (),
                  category_ids: Sequence[int] | None = None, overdue_at: datetime | None = None) -> list[
                      tuple[str, int]]:
    """(area path, count) of the cases now in ``statuses`` under ``within_path``; with ``overdue_at``, only
    those with a step not done by its deadline at that time (as the overdue queue counts them)."""
    query = select(Case.area_path, func.count())
    if overdue_at is not None:
        query = query.where(Case.id.in_(select(CaseDeadline.case_id).where(
            CaseDeadline.met_at.is_(None), CaseDeadline.due_at < overdue_at)))
    return [(path, count) for path, count in session.execute(_filtered(
        query, within_path=within_path, channels=channels, category_ids=category_ids, statuses=statuses))]


def opened_per_period(session: Session, *, bounds: Sequence[datetime], within_path: str) -> list[int]:
    """How many cases were opened in each [bounds[i], bounds[i + 1]) under ``within_path`` (merged reports
    included: each is a report), in one pass over the window's part of the ``opened_at`` index."""
    if len(bounds) < 2:
        return []
    row = session.execute(select(*(func.count().filter(and_(Case.opened_at >= start, Case.opened_at < end))
                                   for start, end in pairwise(bounds))).where(
        Case.opened_at >= bounds[0], Case.opened_at < bounds[-1],
        Case.area_path.startswith(within_path, autoescape=True))).one()
    return [count or 0 for count in row]


def opened_per_category(session: Session, *, since: datetime, until: datetime, within_path: str,
                        statuses: Sequence[str]) -> list[tuple[int | None, str, int]]:
    """(category id, current status, count) of the cases opened in [since, until) under ``within_path``
    that are now in ``statuses``."""
    return [(category_id, status, count) for category_id, status, count in session.execute(
        select(Case.category_id, Case.status, func.count()).where(
            Case.opened_at >= since, Case.opened_at < until, Case.area_path.startswith(within_path, autoescape=True),
            Case.status.in_(list(statuses))).group_by(Case.category_id, Case.status))]
