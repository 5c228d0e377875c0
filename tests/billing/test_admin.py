"""The admin's billing views: users with plan, credits left, prepaid and last API use; the ledger
filtered by user and kind; the "Grant credits" action through billing.grants (real Redis)."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from accounts import services
from billing.grants import credits_grant
from billing.models import LedgerEntry
from billing.usage import membership_usage

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-admin-tests")


@pytest.fixture
def admin_client_(client, root):
    client.force_login(root)
    return client


def test_it_lists_users_with_their_billing_state(admin_client_, alice, bob, root):
    key, _ = services.api_key_create(user=alice, name="server")
    key.last_used_at = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    key.save()
    credits_grant(user_id=bob.pk, credits=1234, reason="test", granted_by=root)
    html = admin_client_.get("/admin/auth/user/").content.decode()
    for header in ("Plan", "Credits left this window", "Prepaid", "Last API use"):
        assert header in html
    assert "10 of 10" in html  # the test catalogue's Free plan
    assert "1,234" in html and "Nov. 2, 2026" in html and "never" in html
    assert f"/admin/billing/ledgerentry/?user__id__exact={bob.pk}" in html
    assert "Cutout administration" in html


def test_it_grants_credits_from_the_user_list(admin_client_, alice, bob):
    chosen = {"action": "grant_credits", "_selected_action": [alice.pk, bob.pk]}
    form = admin_client_.post("/admin/auth/user/", chosen)
    assert form.status_code == 200 and "Grant prepaid credits" in form.content.decode()
    token = form.context["form"].initial["token"]
    data = chosen | {"apply": "1", "credits": "75", "reason": "launch gift", "token": token}
    response = admin_client_.post("/admin/auth/user/", data, follow=True)
    assert "Granted 75 prepaid credits to 2 user(s)." in response.content.decode()
    admin_client_.post("/admin/auth/user/", data)  # the same form sent again grants nothing more
    assert [membership_usage(user_id=u.pk)["prepaidCredits"] for u in (alice, bob)] == [75, 75]
    assert set(LedgerEntry.objects.values_list("kind", "reference")) == {("admin_grant", "root: launch gift")}


def test_it_refuses_a_grant_without_a_reason(admin_client_, alice):
    data = {"action": "grant_credits", "_selected_action": [alice.pk], "apply": "1", "credits": "5",
            "reason": "", "token": "t"}
    response = admin_client_.post("/admin/auth/user/", data)
    assert "This field is required" in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_it_filters_the_ledger_by_user_and_kind(admin_client_, alice, bob, root):
    credits_grant(user_id=alice.pk, credits=7, reason="alice's", granted_by=root)
    credits_grant(user_id=bob.pk, credits=8, reason="bob's", granted_by=root)
    html = admin_client_.get(f"/admin/billing/ledgerentry/?user__id__exact={alice.pk}&kind__exact=admin_grant")
    page = html.content.decode()
    assert "root: alice&#x27;s" in page and "bob&#x27;s" not in page
    assert "By user" in page and "By kind" in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_grants_credits_in_the_admin_in_a_browser(chromium, live_server, alice, bob, root):
    from playwright.sync_api import expect

    from tests import live

    credits_grant(user_id=bob.pk, credits=500, reason="beta tester", granted_by=root)
    page = chromium.new_page(viewport={"width": 1366, "height": 850})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/auth/user/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("pw-for-admin-tests")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Cutout administration")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="alice@example.com")
    expect(row).to_contain_text("Free")
    expect(row).to_contain_text("10 of 10")
    expect(page.get_by_role("row").filter(has_text="bob@example.com")).to_contain_text("500")
    live.screenshot(page, "admin-users.png")

    row.get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option("grant_credits")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("Credits:").fill("120")
    page.get_by_label("Reason:").fill("support ticket 7")
    page.get_by_role("button", name="Grant credits").click()
    expect(page.get_by_text("Granted 120 prepaid credits to 1 user(s).")).to_be_visible()
    assert membership_usage(user_id=alice.pk)["prepaidCredits"] == 120

    page.get_by_role("row").filter(has_text="alice@example.com").get_by_role("link", name="entries").click()
    expect(page.get_by_role("row").filter(has_text="support ticket 7")).to_contain_text("Admin Grant")
    expect(page.get_by_role("row").filter(has_text="beta tester")).to_have_count(0)
