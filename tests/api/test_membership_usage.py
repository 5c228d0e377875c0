"""GET /api/membership-usage: every mode of SPEC §3 over the real API, key-only auth, JSON errors."""

from datetime import UTC, datetime

import pytest

from accounts.services import user_token_issue
from billing.quota import credits_commit, credits_reserve
from billing.state import prepaid_grant_apply

pytestmark = pytest.mark.django_db

MARCH = datetime(2026, 3, 15, 12, tzinfo=UTC)


def spend(user, source: str, count: int, *, now: datetime | None = None) -> None:
    for _ in range(count):
        credits_commit(reservation=credits_reserve(user_id=user.id, source=source, now=now))


@pytest.fixture
def alice_headers(alice, api_key_for):
    return {"x-api-key": api_key_for(alice)}


def test_it_reports_plan_balances_and_this_months_usage(client, alice, alice_headers):
    prepaid_grant_apply(user_id=alice.id, idempotency_key="pack-1", credits=7)
    spend(alice, "api", 1)
    spend(alice, "app", 1)
    response = client.get("/api/membership-usage", headers=alice_headers)
    assert response.status_code == 200
    assert response.json() == {"membership": "Free", "credits": 2, "prepaidCredits": 7,
                               "app_usage": 1, "api_usage": 1}


def test_it_reads_a_given_calendar_month(client, alice, alice_headers):
    spend(alice, "api", 2, now=MARCH)
    response = client.get("/api/membership-usage?year=2026&month=3", headers=alice_headers)
    assert (response.json()["api_usage"], response.json()["app_usage"]) == (2, 0)
    response = client.get("/api/membership-usage?year=2026&month=4", headers=alice_headers)
    assert response.json()["api_usage"] == 0


def test_it_adds_the_billing_cycle_when_asked(client, alice, alice_headers):
    spend(alice, "api", 1)
    for query in ("expand=billing_cycle", "includeBillingCycle=1"):
        body = client.get(f"/api/membership-usage?{query}", headers=alice_headers).json()
        cycle = body["billingCycle"]
        assert cycle["stripeBillingSynced"] is False
        assert (cycle["apiUsage"], cycle["usedIncludedCredits"], cycle["remainingIncludedCredits"]) == (1, 1, 1)
        now = datetime.now(UTC)
        assert cycle["periodStartUnix"] == int(datetime(now.year, now.month, 1, tzinfo=UTC).timestamp())
    assert "billingCycle" not in client.get("/api/membership-usage", headers=alice_headers).json()


def test_it_reads_a_window_by_its_start(client, alice, alice_headers):
    spend(alice, "app", 2, now=MARCH)
    start = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    body = client.get(f"/api/membership-usage?periodStartUnix={start}&expand=billing_cycle",
                      headers=alice_headers).json()
    assert body["app_usage"] == 2
    assert body["billingCycle"]["periodStartUnix"] == start


def test_it_lists_billing_cycles_only(client, alice, alice_headers):
    spend(alice, "api", 1, now=MARCH)
    spend(alice, "api", 2)
    response = client.get("/api/membership-usage?listBillingCycles=true&year=2020", headers=alice_headers)
    cycles = response.json()["billingCycles"]
    assert list(response.json()) == ["billingCycles"]
    assert [c["apiUsage"] for c in cycles] == [2, 1]  # newest first
    assert cycles[0]["periodStartUnix"] > cycles[1]["periodStartUnix"]


@pytest.mark.parametrize("params, field, message", [
    ({"month": "13"}, "month", "'month' must be between 1 and 12, got: 13"),
    ({"month": "0"}, "month", "'month' must be between 1 and 12, got: 0"),
    ({"year": "0"}, "year", "'year' must be between 1 and 9999, got: 0"),
    ({"year": "10000"}, "year", "'year' must be between 1 and 9999, got: 10000"),
    ({"year": "abc"}, "year", "'year' must be an integer, got: 'abc'"),
    ({"year": "{raw}"}, "year", "'year' must be an integer, got: '{raw}'"),
    ({"periodStartUnix": "soon"}, "periodStartUnix", "'periodStartUnix' must be an integer, got: 'soon'"),
    ({"periodStartUnix": "-1"}, "periodStartUnix",
     "'periodStartUnix' must be between 0 and 253402300799, got: -1"),
    ({"periodStartUnix": "1740441600", "year": "2025"}, "periodStartUnix",
     "Cannot use 'periodStartUnix' together with 'year' or 'month'. Choose one or the other."),
    ({"periodStartUnix": "1740441600", "month": "3"}, "periodStartUnix",
     "Cannot use 'periodStartUnix' together with 'year' or 'month'. Choose one or the other."),
    ({"listBillingCycles": "maybe"}, "listBillingCycles",
     "'listBillingCycles' must be true or false, got: 'maybe'"),
    ({"includeBillingCycle": "2"}, "includeBillingCycle",
     "'includeBillingCycle' must be true or false, got: '2'"),
])
def test_it_refuses_bad_query_values(client, alice_headers, params, field, message):
    response = client.get("/api/membership-usage", params, headers=alice_headers)
    assert response.status_code == 400
    assert response.json() == {"error": message, "details": [{"field": field, "message": message}],
                               "status": 400}


def test_it_reports_all_errors_together(client, alice_headers):
    response = client.get("/api/membership-usage", {"year": "x", "month": "13"}, headers=alice_headers)
    body = response.json()
    assert body["error"] == "Multiple validation errors"
    assert [d["field"] for d in body["details"]] == ["year", "month"]


def test_it_ignores_every_other_parameter_when_listing_cycles(client, alice_headers):
    response = client.get("/api/membership-usage", {"listBillingCycles": "1", "year": "0", "month": "x"},
                          headers=alice_headers)
    assert response.status_code == 200
    assert list(response.json()) == ["billingCycles"]


def test_it_leaves_the_billing_cycle_out_unless_asked(client, alice_headers):
    assert "billingCycle" not in client.get("/api/membership-usage", headers=alice_headers).json()
    body = client.get("/api/membership-usage", {"expand": "foo,billing_cycle"}, headers=alice_headers).json()
    assert body["billingCycle"]["stripeBillingSynced"] is False


def test_it_needs_an_api_key(client, alice):
    assert client.get("/api/membership-usage").json() == {"error": "invalid api key", "status": 401}
    token = user_token_issue(user=alice)
    response = client.get("/api/membership-usage", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_it_refuses_an_unverified_owner(client, charlie, api_key_for):
    response = client.get("/api/membership-usage", headers={"x-api-key": api_key_for(charlie)})
    assert response.status_code == 403


@pytest.mark.parametrize(("query", "message"), [
    ("year=" + "y" * 20000, "'year' must be an integer, got: '" + "y" * 64 + "…'"),
    ("year=" + "9" * 3000, "'year' must be between 1 and 9999, got: " + "9" * 64 + "…"),
    ("listBillingCycles=" + "z" * 20000, "'listBillingCycles' must be true or false, got: '" + "z" * 64 + "…'"),
])
def test_it_echoes_only_a_short_prefix_of_a_rejected_value(client, alice_headers, query, message):
    response = client.get(f"/api/membership-usage?{query}", headers=alice_headers)
    assert response.status_code == 400
    assert response.json()["error"] == message
    assert len(response.content) < 1024
