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
    assert {"/rmbg", "/api/rmbg", "/api/membership-usage", "/api/models"} <= set(spec["paths"])
    assert set(spec["paths"]["/rmbg"]["post"]["responses"]) == {
        "200", "400", "401", "403", "409", "422", "429", "500", "502", "503", "504"}
    assert "multipart/form-data" in spec["paths"]["/rmbg"]["post"]["requestBody"]["content"]
    schemes = spec["components"]["securitySchemes"]
    assert set(schemes) == {"ApiKey", "BearerToken"}  # one per credential, shared by every operation
    assert (schemes["ApiKey"]["in"], schemes["ApiKey"]["name"]) == ("header", "x-api-key")
    assert (schemes["BearerToken"]["type"], schemes["BearerToken"]["scheme"]) == ("http", "bearer")
    assert spec["paths"]["/api/membership-usage"]["get"]["security"] == [{"ApiKey": []}]


def test_it_offers_only_harmless_values_to_try_it_out(client):
    """Swagger UI pre-fills a field with its example, default or a sample made from its type:
    size, colour and URL start empty (example ""), so Execute with only a file just works."""
    post = client.get("/api/openapi").json()["paths"]["/rmbg"]["post"]
    fields = post["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    for name in ("image", "image_url", "w", "h", "bg_color"):
        assert not {"default", "examples"} & set(fields[name]), name
        assert fields[name].get("example", "") == "", name
    assert "Example: `#ffffff` or `red`" in fields["bg_color"]["description"]
    assert all(field.get("description") for field in fields.values())
    assert [p["name"] for p in post["parameters"]] == ["Idempotency-Key"]
    assert list(post["responses"]["200"]["content"])[0] == "image/webp"  # what "Try it out" accepts


def test_it_describes_every_usage_field(client):
    schemas = client.get("/api/openapi").json()["components"]["schemas"]
    for name in ("MembershipUsageOut", "BillingCycleOut", "BillingCycleRowOut", "BillingCyclesOut"):
        for field, schema in schemas[name]["properties"].items():
            assert schema.get("description"), f"{name}.{field}"
    assert "not what is left" in schemas["MembershipUsageOut"]["properties"]["credits"]["description"]


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
    assert len(operations) == 11  # rmbg, its /api alias, membership-usage, models, the five of batch jobs, two reports
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
