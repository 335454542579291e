"""API shapes of the responsibility matrix (权责清单)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from cityops.geo.levels import AreaLevel
from cityops.org.responsibility import MAX_NOTE_LENGTH
from cityops.org.routing import JointMode

DepartmentCode = Annotated[str, Field(min_length=1, max_length=64)]


class ResponsibilityIn(BaseModel):
    """The whole cell: a PUT replaces whatever the cell said before."""

    model_config = ConfigDict(extra="forbid")

    lead_department_code: DepartmentCode
    assisting_department_codes: list[DepartmentCode] = Field(
        default_factory=list, max_length=20, description="in the order they join (serial mode) or are listed")
    joint_mode: JointMode = JointMode.parallel
    note: str | None = Field(None, max_length=MAX_NOTE_LENGTH)


class ResponsibilityOut(BaseModel):
    category_code: str
    category_name: str
    area_code: str
    area_name: str
    area_level: AreaLevel
    lead_department_code: str
    lead_department_name: str
    assisting_department_codes: list[str]
    joint_mode: JointMode
    note: str | None
    updated_at: datetime


class ResponsibilityPage(BaseModel):
    items: list[ResponsibilityOut]
    total: int
    limit: int
    offset: int


class MatrixImportReportOut(BaseModel):
    rows: int
    created: int
    updated: int
    unchanged: int


class DepartmentRefOut(BaseModel):
    code: str
    name: str


class RouteOut(BaseModel):
    category_code: str
    area_code: str
    lead: DepartmentRefOut
    assisting: list[DepartmentRefOut]
    joint_mode: JointMode
    matched_area_code: str = Field(description="the area whose cell decided, or the street when it fell back")
    matched_category_code: str | None = Field(description="the category whose cell decided; null on fallback")
    fallback: bool = Field(description="no cell matched: the street's fallback department leads (属地兜底)")
    reason: str
