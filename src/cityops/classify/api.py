"""Category suggestions as a citizen types, from the classifier the platform was configured with."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from cityops.cases import service as cases_service
from cityops.classify import model as classifier
from cityops.deps import AppSettings, DbSession

router = APIRouter(prefix="/api/v1", tags=["citizens"])


class CategorySuggestionOut(BaseModel):
    code: str
    label: str
    score: float


class CategorySuggestionsOut(BaseModel):
    available: bool
    suggestions: list[CategorySuggestionOut]


@router.get("/public/category-suggestions", response_model=CategorySuggestionsOut,
            summary="Likely categories for a report's text (no account needed)")
def suggest(request: Request, session: DbSession, settings: AppSettings,
            text: Annotated[str, Query(min_length=1, max_length=2000)]) -> CategorySuggestionsOut:
    """The configured classifier's likeliest categories that exist here, best first; ``available`` is
    false (and the list empty) when no classifier is configured (`CITYOPS_CLASSIFIER_MODEL`)."""
    if settings.classifier_model is None:
        return CategorySuggestionsOut(available=False, suggestions=[])
    # loaded once per process, shared with intake's suggestions
    if getattr(request.app.state, "classifier", None) is None:
        request.app.state.classifier = classifier.load(settings.classifier_model)
    loaded = request.app.state.classifier
    ranked = cases_service.suggest_categories(session, lambda t: [(s.label, s.score) for s in loaded.suggest(t)],
                                              text)
    return CategorySuggestionsOut(available=True, suggestions=[CategorySuggestionOut(**s) for s in ranked])
