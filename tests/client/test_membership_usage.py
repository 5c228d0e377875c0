"""membership_usage against the live server, in every mode of GET /api/membership-usage."""

from datetime import UTC, datetime

import pytest
from cutout_client import BadRequest, Client, Unauthorized, membership_usage


@pytest.fixture
def client(live_api, dave_key):
    with Client(dave_key, base_url=live_api) as client:
        yield client


@pytest.fixture
def used_twice(client, small_png):
    for _ in range(2):
        client.remove_background(small_png).cleanup()


def test_it_reads_the_current_month(client, used_twice):
    usage = client.membership_usage()
    assert usage["membership"] == "Premium-20000"
    assert (usage["credits"], usage["prepaidCredits"]) == (20000, 0)
    assert (usage["app_usage"], usage["api_usage"]) == (0, 2)
    assert "billingCycle" not in usage


def test_it_reads_a_given_month(client, used_twice):
    now = datetime.now(UTC)
    assert client.membership_usage(year=now.year, month=now.month)["api_usage"] == 2
    assert client.membership_usage(year=now.year - 1, month=now.month)["api_usage"] == 0


@pytest.mark.parametrize("ask", [{"expand": "billing_cycle"}, {"expand": ["billing_cycle"]},
                                 {"include_billing_cycle": True}])
def test_it_expands_the_billing_cycle(client, used_twice, ask):
    cycle = client.membership_usage(**ask)["billingCycle"]
    assert cycle["apiUsage"] == cycle["usedIncludedCredits"] == 2
    assert cycle["remainingIncludedCredits"] == 19998
    assert cycle["stripeBillingSynced"] is False


def test_it_lists_billing_cycles_and_reads_one(client, used_twice):
    cycles = client.billing_cycles()
    assert len(cycles) == 1 and cycles[0]["apiUsage"] == 2
    assert client.membership_usage(list_billing_cycles=True) == {"billingCycles": cycles}
    start = cycles[0]["periodStartUnix"]
    usage = client.membership_usage(period_start_unix=start, expand="billing_cycle")
    assert usage["api_usage"] == 2
    assert usage["billingCycle"]["periodStartUnix"] == start


def test_it_surfaces_an_invalid_query(client):
    with pytest.raises(BadRequest) as caught:
        client.membership_usage(year=2026, month=13)
    assert caught.value.status == 400
    with pytest.raises(BadRequest):
        client.membership_usage(period_start_unix=1740441600, year=2025)


def test_it_works_as_a_function_and_refuses_unknown_keys(live_api, dave_key):
    assert membership_usage(api_key=dave_key, base_url=live_api)["membership"] == "Premium-20000"
    with pytest.raises(Unauthorized):
        membership_usage(api_key="ck_live_unknown1_nope", base_url=live_api)
