"""Category suggestions as a citizen types, from the classifier the platform was configured with."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from cityops.cases import service as cases_service
from cityops.categories import service as categories_service
from cityops.classify import model as classifier
from cityops.config import Settings
from cityops.deps import AppSettings, DbSession
from cityops.errors import InvalidFile, ServiceUnavailable

router = APIRouter(prefix="/api/v1", tags=["citizens"])
log = logging.getLogger(__name__)


class CategorySuggestionOut(BaseModel):
    code: str
    label: str = Field(description="the category's name")
    score: float = Field(description="the model's confidence, 0–1")


class CategorySuggestionsOut(BaseModel):
    available: bool
    suggestions: list[CategorySuggestionOut]


def configured_model(request: Request, settings: Settings) -> classifier.CategoryModel | None:
    """The configured classifier (`CITYOPS_CLASSIFIER_MODEL`, else the demo's model in the data
    directory), loaded once per process and shared with intake; None when there is none.
    A model file that cannot be read is ServiceUnavailable naming the file and the fix; it is read
    again on the next call, so replacing the file mends the server without a restart."""
    if settings.classifier_model is None:
        return None
    loaded = getattr(request.app.state, "classifier", None)
    if loaded is None:
        try:
            loaded = classifier.load(settings.classifier_model)
        except (OSError, InvalidFile) as exc:
            path = settings.classifier_model
            reason = exc.detail if isinstance(exc, InvalidFile) else f"{path}: {exc.strerror or exc}"
            log.error("category suggestions are unavailable: %s", reason)
            raise ServiceUnavailable(
                f"category suggestions are unavailable: {reason}. Train the model again (`cityops demo` writes the "
                "demo city's, `cityops classifier train` any other) or unset CITYOPS_CLASSIFIER_MODEL",
                code="classifier_unavailable") from exc
        request.app.state.classifier = loaded
    return loaded


@router.get("/public/category-suggestions", response_model=CategorySuggestionsOut,
            summary="Likely categories for a report's text (no account needed)")
def suggest(request: Request, session: DbSession, settings: AppSettings,
            text: Annotated[str, Query(min_length=1, max_length=2000)]) -> CategorySuggestionsOut:
    """The classifier's likeliest active categories that exist here, best first. ``available`` is
    false (and the list empty) when there is no classifier: `CITYOPS_CLASSIFIER_MODEL` is unset and
    `cityops demo` has written no model into the data directory. A model file that cannot be read
    is a 503 (`classifier_unavailable`) naming the file, never an empty list."""
    loaded = configured_model(request, settings)
    if loaded is None:
        return CategorySuggestionsOut(available=False, suggestions=[])
    ranked = cases_service.suggest_categories(session, lambda t: [(s.label, s.score) for s in loaded.suggest(t)],
                                              text)
    suggestions = []
    for found in ranked:
        category = categories_service.get_category(session, code=found["code"])
        if category.active:
            suggestions.append(CategorySuggestionOut(code=category.code, label=category.name, score=found["score"]))
    return CategorySuggestionsOut(available=True, suggestions=suggestions)
