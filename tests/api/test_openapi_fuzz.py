"""A bounded schemathesis run over the whole OpenAPI document, as an administrator of the test
city: no server error and no response that breaks the declared schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from tests.factories import login, make_city, make_user

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_schema(app, client, session: Session):  # noqa: ANN001, ANN201
    make_city(session)
    make_user(session, username="fuzz.admin", roles=["administrator"], area_code="990000")
    headers = login(client, "fuzz.admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.fuzz_headers = headers
    return schema


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_response_matches_its_schema(case) -> None:  # noqa: ANN001
    case.call_and_validate(headers=case.operation.schema.fuzz_headers, checks=CHECKS)
