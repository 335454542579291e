"""A bounded schemathesis run over the whole OpenAPI document, as an administrator of the test
city: no server error and no response that breaks the declared schema.

Operations are driven through hypothesis directly (schemathesis's pytest plugin does not support
pytest 9 yet); every operation runs, and all failures are reported together."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from tests.factories import login, make_city, make_user

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 15


def test_no_server_error_and_every_response_matches_its_schema(app, client, session: Session) -> None:  # noqa: ANN001
    make_city(session)
    make_user(session, username="fuzz.admin", roles=["administrator"], area_code="990000")
    headers = login(client, "fuzz.admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case) -> None:  # noqa: ANN001
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            exercise()
        except (Exception, ExceptionGroup) as exc:  # noqa: BLE001  (report every operation's failures)
            failures.append(f"{operation.method.upper()} {operation.path}:\n{exc}")
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
