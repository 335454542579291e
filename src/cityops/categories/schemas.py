"""API shapes of the categories domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from cityops.categories.service import CODE_PATTERN, MAX_NAME_LENGTH, CategoryKind
from cityops.categories.time_limits import LIMIT_PATTERN, Step

CategoryCode = Annotated[str, Field(min_length=1, max_length=32, pattern=CODE_PATTERN,
                                    examples=["E0102"], description="upper-case letters, digits, '-', '_'")]
LimitText = Annotated[str, Field(pattern=LIMIT_PATTERN, examples=["4wh"],
                                 description="amount and unit: m, h, d (natural), wh, wd (working)")]


class EffectiveLimitOut(BaseModel):
    limit: str = Field(examples=["4wh"])
    words: str = Field(examples=["4 working hours"])
    working_time: bool = Field(description="counts only working time on the work calendar")
    source: str | None = Field(description="code of the category that sets it; null: the platform default")


TimeLimitsIn = Annotated[dict[Step, LimitText | None], Field(
    description="limit per step (register, dispatch, acknowledge, handle, verify); a step left out "
                "inherits from the parent category", examples=[{"handle": "4wh", "verify": "2wh"}])]
TimeLimitsOut = Annotated[dict[Step, str], Field(
    description="the category's own limits; steps not listed inherit")]
EffectiveLimitsOut = Annotated[dict[Step, EffectiveLimitOut], Field(
    description="every step's limit after inheritance, and where it comes from")]


class CategoryOut(BaseModel):
    code: str
    name: str
    kind: CategoryKind
    parent_code: str | None
    depth: int = Field(description="0 for a major class (大类)")
    active: bool
    time_limits: TimeLimitsOut


class CategoryDetail(CategoryOut):
    path: list[str] = Field(description="codes from the root down to this category")
    effective_limits: EffectiveLimitsOut
    origin: str
    updated_at: datetime


class CategoryPage(BaseModel):
    items: list[CategoryOut]
    total: int
    limit: int
    offset: int


class CategoryNode(BaseModel):
    code: str
    name: str
    kind: CategoryKind
    active: bool
    time_limits: TimeLimitsOut
    children: list[CategoryNode]


class CategoryTree(BaseModel):
    items: list[CategoryNode]
    total: int = Field(description="number of categories in the tree")


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: CategoryCode
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    kind: CategoryKind
    parent_code: CategoryCode | None = None
    time_limits: TimeLimitsIn = Field(default_factory=dict)
    active: bool = True


class CategoryPatch(BaseModel):
    """Only the fields given change. ``parent_code: null`` makes a major class; a step of
    ``time_limits`` given as null goes back to inheriting. Deactivating carries down."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=MAX_NAME_LENGTH)
    parent_code: CategoryCode | None = None
    time_limits: TimeLimitsIn | None = None
    active: bool | None = None


class ImportReportOut(BaseModel):
    rows: int
    created: int
    updated: int
    unchanged: int
    deactivated: int = Field(description="subclasses deactivated because an ancestor was")
