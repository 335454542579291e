"""The error hierarchy's problem documents and the settings' fail-fast rules."""

import pytest
from pydantic import ValidationError

from cityops.config import Settings
from cityops.errors import CityOpsError, Conflict, InvalidFile, InvalidInput, NotFound, OutsideJurisdiction


def test_problem_document_carries_code_and_field() -> None:
    body = InvalidFile("bad ring", field="features[3].geometry").problem("/api/v1/areas/import")
    assert body == {"type": "https://cityops.dev/problems/invalid_file", "title": "Invalid file", "status": 422,
                    "detail": "bad ring", "code": "invalid_file", "field": "features[3].geometry",
                    "instance": "/api/v1/areas/import"}


def test_refined_codes_keep_their_parents_status() -> None:
    assert Conflict("x", code="duplicate_code").problem()["status"] == 409
    assert issubclass(InvalidFile, InvalidInput) and issubclass(OutsideJurisdiction, CityOpsError)
    assert NotFound("x").status == 404 and OutsideJurisdiction("x").status == 403


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="DEMO_PASSWORD"):
        Settings(environment="production", secret_key="k" * 40)
    assert Settings(environment="production", secret_key="k" * 40, demo_password="a-real-one").environment


def test_postgres_urls_use_psycopg3() -> None:
    url = Settings(database_url="postgresql://u@h:5432/db").sqlalchemy_url
    assert url == "postgresql+psycopg://u@h:5432/db"
    assert Settings(data_dir="/tmp/x").sqlalchemy_url == "sqlite:////tmp/x/cityops.db"
