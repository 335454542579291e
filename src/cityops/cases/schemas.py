"""API shapes of the cases domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, CaseStatus
from cityops.cases.ordering import CaseOrder
from cityops.geo.coords import Crs


class CaseIn(BaseModel):
    channel: Channel
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    category_code: str | None = Field(None, max_length=64, description="if known; else a dispatcher sets it")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    crs: Crs = Field(Crs.wgs84, description="coordinate system of lon/lat: wgs84 (GPS), gcj02 (AMap), bd09")
    address: str | None = Field(None, max_length=500)
    reporter_name: str | None = Field(None, max_length=100)
    reporter_phone: str | None = Field(None, max_length=32, pattern=r"^[0-9+\-() ]{3,32}$")
    external_id: str | None = Field(None, min_length=1, max_length=128,
                                    description="the source system's id; a retry with it returns the first case")
    attachments: list[str] = Field(default_factory=list, max_length=20,
                                   description="sha256 of photos and videos uploaded to /api/v1/attachments")


class CitizenCaseIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    category_code: str | None = Field(None, max_length=64)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Crs = Crs.wgs84
    address: str | None = Field(None, max_length=500)
    reporter_phone: str | None = Field(None, max_length=32, pattern=r"^[0-9+\-() ]{3,32}$")
    attachments: list[str] = Field(default_factory=list, max_length=9,
                                   description="sha256 of photos uploaded to /api/v1/public/attachments")


class AssignmentOut(BaseModel):
    department_code: str
    role: str
    position: int
    status: str


class CaseRefOut(BaseModel):
    """Another case an entry names: its id for links and the API, its tracking code for people."""

    id: int
    tracking_code: str


class EventOut(BaseModel):
    version: int
    action: str
    from_status: CaseStatus | None
    to_status: CaseStatus
    actor_kind: str
    actor_role: str
    actor_name: str = Field(description="as recorded: a user's login name, an API client's name; kept for audit")
    actor_display_name: str = Field(description="the name to show: a user's current display name; else, and "
                                    "for a user no longer on record, ``actor_name``")
    actor_department: str | None
    at: datetime
    reason: str | None
    attachments: list[str]
    data: dict[str, Any]
    primary_case: CaseRefOut | None = Field(None, description="a merge: the case this one was merged into "
                                            "(``data.primary``); an unmerge: the case it was taken out of")


class CaseOut(BaseModel):
    id: int
    tracking_code: str
    channel: Channel
    status: CaseStatus
    version: int
    title: str
    category_code: str | None
    area_code: str | None
    lon: float | None
    lat: float | None
    near_boundary: bool
    placeholder: str | None
    priority: int
    report_count: int
    rework_count: int
    return_count: int
    deferred: bool
    opened_at: datetime
    closed_at: datetime | None


class DeadlineOut(BaseModel):
    step: str
    time_limit: str = Field(examples=["2wh"])
    started_at: datetime
    due_at: datetime
    remind_at: datetime
    original_due_at: datetime | None = Field(description="before an extension moved it")
    overdue_at: datetime | None
    met_at: datetime | None = Field(description="when the step ended, however it ended (see ended)")
    ended: Literal["met", "returned", "deferred"] | None = Field(
        description="how the step ended: its work done (met); the case returned to the centre by a department, "
        "which withdrew the other departments' parts (returned); the clock stopped by a deferral (deferred)")
    department_code: str | None = Field(description="a summons' report-in: the summoned department")
    round: int | None = Field(description="the dispatch the step belongs to: 1 for the first, 2 after a "
                              "reassignment (the dispatch step: the dispatch it waits for); None before any")
    lead: str | None = Field(description="that dispatch's lead department")
    returned_by: str | None = Field(description="for a step a return ended: the department that returned")
    withdrawn: list[str] = Field(description="for a step a return ended: the departments whose parts it withdrew")


class DuplicateOut(BaseModel):
    candidate_id: int
    tracking_code: str = Field(description="the candidate's tracking code")
    title: str
    status: CaseStatus
    score: float
    distance_m: float
    minutes: float
    text_similarity: float
    same_category: bool
    merged: bool


class MergedReportOut(BaseModel):
    id: int
    tracking_code: str
    channel: Channel
    title: str
    reporter_name: str | None
    reporter_phone: str | None
    opened_at: datetime
    merged_into: int = Field(description="the case it was merged into: this one, or one merged into it later")


class CaseDetail(CaseOut):
    description: str
    address: str | None
    reporter_name: str | None
    reporter_phone: str | None
    assignments: list[AssignmentOut]
    deadlines: list[DeadlineOut]
    duplicates: list[DuplicateOut] = Field(description="open cases this report may duplicate, best first")
    duplicate_of: int | None
    duplicate_of_tracking_code: str | None = Field(description="the tracking code of the case ``duplicate_of`` names")
    follows: int | None = Field(description="for a merged case, the case its reporter follows: the one it was "
                                "merged into or, when that was merged in turn, the last of the chain")
    follows_tracking_code: str | None = Field(description="the tracking code of the case ``follows`` names")
    merged_reports: list[MergedReportOut] = Field(description="reports merged into this case, directly or through "
                                                  "a case merged into it, whose reporters follow it")
    timeline: list[EventOut]
    available_actions: list[Action] = Field(description="the actions you may take on the case now (POST "
                                            "/cases/{id}/actions/{action}), by your roles, your department and "
                                            "the case's state; each still needs its input (a reason, a roster …)")


class CaseInQueue(CaseOut):
    step: str | None = Field(description="the step now running (register, dispatch, acknowledge, handle, verify); "
                                         "null when none runs (closed, rejected, merged, deferred). In the "
                                         "`summoned` queue: report_in, your department's summons; in your "
                                         "department's `overdue` and `supervised` queues, that report_in when it, "
                                         "and not the case's step, is what put the case there")
    step_due_at: datetime | None = Field(description="when that step is due")
    overdue: bool = Field(description="that step is past its deadline")


class QueueOut(BaseModel):
    name: str = Field(description="the `queue` of `GET /cases` (`all`: no queue)", examples=["summoned"])
    count: int | None = Field(description="cases in it now; null for `all`")
    sort: CaseOrder = Field(description="the order to read it in unless another is asked for")


class CasePage(BaseModel):
    items: list[CaseInQueue]
    next_cursor: str | None = Field(description="pass as `cursor`, with the same sort, for the next page; "
                                    "null on the last page")


class ActionIn(BaseModel):
    reason: str | None = Field(None, max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, description=(
        "the action's details: register {'category': 'E0102'} (optional: files the case under a category in "
        "service); dispatch and reassign {'lead': 'D1', 'assisting': ['D2'], 'mode': 'parallel' | 'serial'}; "
        "verify {'passed': true | false}; request_extension {'until': ISO time}; approve_extension and defer "
        "{'until': ISO time} (optional: another date than asked, a date to resume by); "
        "merge {'primary': case id or tracking code}; summon {'departments': {'D2': ISO deadline}}; "
        "rate {'score': 1–5, 'comment': text}"))
    attachments: list[str] = Field(default_factory=list, max_length=20,
                                   description="content hashes of uploaded photos")
    department_code: str | None = Field(None, max_length=64, description="acting for this department "
                                        "(a handler's own department by default)")


class CitizenStepOut(BaseModel):
    """One step of a case as its reporter is told it (``cases.public``): no staff, no internal reasons."""

    step: str = Field(description="received, registered, not accepted, merged, sent to the department, returned, "
                                  "sent again, being handled, handled, checked, rework, closed, reopened or rated")
    at: datetime
    department: str | None = Field(None, description="the department the case was sent to (its name)")
    result: str | None = Field(None, description="what the department reports it did (handled)")
    photos: list[str] = Field(default_factory=list,
                              description="the result's photos, each fetched from "
                                          "/api/v1/public/cases/{tracking_code}/photos/{sha256} (handled)")


class CitizenCaseOut(BaseModel):
    tracking_code: str
    status: CaseStatus
    title: str
    opened_at: datetime
    closed_at: datetime | None
    rating: int | None
    progress: list[CitizenStepOut] = Field(description="the steps taken, without names of staff")


class RatingIn(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=1000)
