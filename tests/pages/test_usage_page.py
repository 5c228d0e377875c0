"""/account/usage/: every number is the usage service's, for the current window and a picked one."""

from datetime import UTC, datetime

import pytest

from billing import quota
from billing.usage import billing_cycles_list, membership_usage, usage_daily

from .conftest import page_read

pytestmark = pytest.mark.django_db

NUMBERS = {"usage-included": "includedCredits", "usage-used": "usedIncludedCredits",
           "usage-app": "appUsage", "usage-api": "apiUsage", "usage-remaining": "remainingIncludedCredits",
           "usage-start": "periodStartUnix", "usage-end": "periodEndUnix"}


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def _assert_numbers(page, payload: dict) -> None:
    cycle = payload["billingCycle"]
    assert {testid: page.value(testid) for testid in NUMBERS} == {t: cycle[k] for t, k in NUMBERS.items()}
    assert page.value("usage-prepaid") == payload["prepaidCredits"]
    assert page.text("usage-membership") == payload["membership"]


def test_it_shows_the_usage_services_numbers_for_the_current_window(alice_client, seeded):
    response = alice_client.get("/account/usage/")
    assert response.status_code == 200
    page = page_read(response.content.decode())
    expected = membership_usage(user_id=seeded.user.pk, with_cycle=True)
    _assert_numbers(page, expected)
    # and they are the seeded state: Premium-1000, current period 1 app + 4 API, 100 prepaid
    assert (expected["membership"], expected["prepaidCredits"]) == ("Premium-1000", 100)
    assert expected["billingCycle"]["stripeBillingSynced"] is True
    assert (page.value("usage-app"), page.value("usage-api"), page.value("usage-remaining")) == (1, 4, 995)
    assert (page.value("usage-start"), page.value("usage-end")) == seeded.current
    assert page.text("usage-window-kind") == "Stripe billing period"
    renewal = datetime.fromtimestamp(seeded.current[1] + 1, tz=UTC)
    assert page.text("usage-renewal") == f"{renewal.day} {renewal:%b %Y, %H:%M} UTC"


def test_it_fills_the_picker_from_list_billing_cycles(alice_client, seeded):
    page = page_read(alice_client.get("/account/usage/").content.decode())
    cycles = billing_cycles_list(user_id=seeded.user.pk)
    assert [int(o["value"]) for o in page.options] == [c["periodStartUnix"] for c in cycles]
    assert [c["periodStartUnix"] for c in cycles] == [seeded.current[0], seeded.previous[0]]
    assert [int(o["value"]) for o in page.options if "selected" in o] == [seeded.current[0]]


def test_it_switches_to_the_picked_window(alice_client, seeded):
    start = seeded.previous[0]
    response = alice_client.get("/account/usage/", {"periodStartUnix": str(start)})
    assert response.status_code == 200
    page = page_read(response.content.decode())
    expected = membership_usage(user_id=seeded.user.pk, period_start=start, with_cycle=True)
    _assert_numbers(page, expected)
    assert (page.value("usage-app"), page.value("usage-api"), page.value("usage-used")) == (3, 2, 5)
    assert (page.value("usage-start"), page.value("usage-end")) == seeded.previous
    assert [int(o["value"]) for o in page.options if "selected" in o] == [start]
    assert "usage-renewal" not in page.ids
    assert "Past window" in response.content.decode()


def test_it_charts_the_service_daily_series_of_the_window(alice_client, seeded):
    for start, end in (seeded.current, seeded.previous):
        response = alice_client.get("/account/usage/", {"periodStartUnix": str(start)})
        page = page_read(response.content.decode())
        first = datetime.fromtimestamp(start, tz=UTC).date()
        last = min(datetime.fromtimestamp(end, tz=UTC).date(), datetime.now(UTC).date())
        series = usage_daily(user_id=seeded.user.pk, start=first, end=last)
        assert [(d["data-date"], int(d["data-app"]), int(d["data-api"])) for d in page.days] == [
            (d["date"], d["app"], d["api"]) for d in series]
        assert "usage-chart" in page.ids


def test_it_uses_the_calendar_month_before_stripe_has_a_period(client, bob):
    now = datetime.now(UTC)
    quota.credits_commit(reservation=quota.credits_reserve(user_id=bob.pk, source="api", now=now))
    client.force_login(bob)
    page = page_read(client.get("/account/usage/").content.decode())
    expected = membership_usage(user_id=bob.pk, with_cycle=True)
    _assert_numbers(page, expected)
    assert expected["billingCycle"]["stripeBillingSynced"] is False
    assert page.text("usage-window-kind") == "Calendar month (UTC)"
    assert (page.value("usage-api"), page.value("usage-remaining")) == (1, 9)
    month_start = int(datetime(now.year, now.month, 1, tzinfo=UTC).timestamp())
    assert [int(o["value"]) for o in page.options] == [month_start]


def test_it_lists_the_current_window_even_before_any_usage(client, charlie):
    client.force_login(charlie)
    page = page_read(client.get("/account/usage/").content.decode())
    expected = membership_usage(user_id=charlie.pk, with_cycle=True)
    _assert_numbers(page, expected)
    assert [int(o["value"]) for o in page.options] == [expected["billingCycle"]["periodStartUnix"]]
    assert [d["data-app"] for d in page.days] == ["0"] * len(page.days)


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "&#x27;periodStartUnix&#x27; must be an integer, got: &#x27;abc&#x27;"),
    ("-5", "&#x27;periodStartUnix&#x27; must be between 0 and 253402300799, got: -5"),
])
def test_it_refuses_an_invalid_window_with_the_services_message(alice_client, value, message):
    response = alice_client.get("/account/usage/", {"periodStartUnix": value})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_it_links_to_the_customer_portal(alice_client):
    page = page_read(alice_client.get("/account/usage/").content.decode())
    assert page.text("manage-subscription") == "Manage subscription"
    assert 'action="/billing/portal/"' in alice_client.get("/account/usage/").content.decode()


def test_it_says_billing_is_off_without_stripe(alice_client, settings):
    settings.STRIPE_SECRET_KEY = ""
    page = page_read(alice_client.get("/account/usage/").content.decode())
    assert "manage-subscription" not in page.ids
    assert page.text("billing-off") == "Billing is off on this server: purchases are not available."


def test_it_requires_sign_in(client):
    response = client.get("/account/usage/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_shows_what_the_database_knows_while_redis_is_down(alice_client, seeded, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/15"  # nothing listens there: every Redis call fails

    response = alice_client.get("/account/usage/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<nav' in html and "<h1>Usage</h1>" in html  # the site's page, not a bare error
    page = page_read(html)
    assert page.text("usage-unavailable").lower().startswith("usage is temporarily unavailable")
    assert page.text("usage-membership") == "Premium-1000"  # the plan, from the billing account row
    assert page.value("usage-included") == 1000
    assert page.value("usage-prepaid") == 100  # the pack, from the ledger
    assert "usage-remaining" not in page.ids  # the counters live in Redis: not guessed
