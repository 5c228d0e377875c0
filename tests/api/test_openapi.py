"""The OpenAPI document tells the truth: schemathesis calls every operation and checks each answer."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = pytest.mark.django_db


def test_it_serves_the_raw_spec(client):
    response = client.get("/api/openapi")
    assert response.status_code == 200
    spec = response.json()
    assert {"/rmbg", "/api/rmbg", "/api/membership-usage"} <= set(spec["paths"])
    assert set(spec["paths"]["/rmbg"]["post"]["responses"]) == {"200", "400", "401", "403", "429", "500", "503"}
    assert "multipart/form-data" in spec["paths"]["/rmbg"]["post"]["requestBody"]["content"]
    assert spec["components"]["securitySchemes"]["KeyTokenOrAnonymous"]["name"] == "x-api-key"


def test_it_serves_interactive_docs(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert b"/api/openapi" in response.content


def test_it_answers_as_the_spec_says():
    """No 5xx, and every status, content type and body matches what the spec declares.

    Operations are driven through hypothesis directly (fixed seed via derandomize) rather than
    schemathesis' pytest plugin, which does not support this pytest version. One check is left
    out: "schema-valid data is accepted". A schema cannot say "bytes of a real image named *.png",
    so random bytes that fit it are rightly refused with a declared 400."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8  # /rmbg, /api/rmbg, usage, and the five of batch jobs
    calls = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
            calls.append((case.operation.label, response.status_code))

        check()

    assert {label for label, _ in calls} == {op.label for op in operations}
    assert len(calls) >= 30, calls
