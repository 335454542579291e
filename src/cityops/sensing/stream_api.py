"""HTTP API of the live stream: ``GET /api/v1/stream``.

Asked for ``text/event-stream`` (as ``EventSource`` does), it streams server-sent events
(``sensing.stream``) of the caller's jurisdiction: ``warning`` and ``indicator`` events with ids to
resume from (``Last-Event-ID``), ``counts`` when the counters change, ``resync`` when the client is too
far behind, and heartbeats. Asked for anything else, it answers once, as JSON, with the same events
after ``Last-Event-ID`` (or ``after``) and the counters: a polling fallback for clients that cannot
hold a stream open.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.sse import EventSourceResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.responses import Response

from cityops.deps import DbSession, Reader
from cityops.errors import InvalidInput
from cityops.live import LiveHub, latest_id
from cityops.problems import problem_responses
from cityops.sensing import stream
from cityops.sensing.stream import SharedCounters, StreamTiming

router = APIRouter(prefix="/api/v1", tags=["live"])


class LiveEventOut(BaseModel):
    id: int
    cursor: int
    kind: str
    data: dict[str, Any]


class LivePage(BaseModel):
    counts: dict[str, int]
    events: list[LiveEventOut]
    last_event_id: int
    resync: bool


def install(app: FastAPI, *, timing: StreamTiming | None = None) -> None:
    """Give the application its hub, the shared counters and the stream's timing."""
    app.state.live = LiveHub(app.state.engine)
    app.state.live_timing = timing or StreamTiming()
    app.state.live_counts = SharedCounters(app.state.engine, timezone=app.state.settings.timezone,
                                           max_age_s=app.state.live_timing.counts_s / 2)


def _event_id(header: str | None, query: int | None) -> int | None:
    if header is None:
        return query
    if not header.strip().isdigit() or len(header.strip()) > 18:
        raise InvalidInput("Last-Event-ID is the id of an event this stream sent", field="Last-Event-ID")
    return int(header)


def _page(request: Request, session: Session, area_path: str, after: int | None) -> LivePage:
    counts = stream.counters(session, area_path=area_path, timezone=request.app.state.settings.timezone,
                             now=datetime.now(UTC))
    latest = latest_id(session)
    if after is None:
        return LivePage(counts=counts, events=[], last_event_id=latest, resync=False)
    found = request.app.state.live.read_backlog(area_path, after, stream.BACKLOG_LIMIT + 1, session)
    if len(found) > stream.BACKLOG_LIMIT:
        return LivePage(counts=counts, events=[], last_event_id=latest, resync=True)
    events = [LiveEventOut(id=item.id, cursor=item.cursor, kind=item.kind, data=stream.event_data(item))
              for item in found]
    return LivePage(counts=counts, events=events, last_event_id=events[-1].cursor if events else after, resync=False)


@router.get("/stream", response_model=LivePage, summary="Live warnings, indicators and counters of your jurisdiction",
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
                       **problem_responses(401, 403, 422)})
async def live_stream(
    request: Request,
    session: DbSession,
    viewer: Reader,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=32,
                                                description="resume after this event")] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="resume after this event (as Last-Event-ID)")]
    = None,
) -> Response | LivePage:
    """Server-sent events when asked for ``text/event-stream``; otherwise one JSON page of the events
    after ``Last-Event-ID`` with the counters (see the module's doc)."""
    resume = _event_id(last_event_id, after)
    if "text/event-stream" not in request.headers.get("accept", ""):
        return await anyio.to_thread.run_sync(_page, request, session, viewer.area_path, resume)
    state = request.app.state
    return EventSourceResponse(stream.events(hub=state.live, counts=state.live_counts, area_path=viewer.area_path,
                                             last_event_id=resume, timing=state.live_timing),
                               headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
