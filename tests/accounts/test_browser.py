"""Sign up, verify, create an API key and see it exactly once, in a real headless Chromium."""

import pytest
from django.core import mail

from tests import live

from .conftest import PASSWORD, link_from_mail

pytestmark = pytest.mark.browser

@pytest.fixture
def page(chromium):
    return chromium.new_page()


def test_it_signs_up_verifies_and_shows_a_new_key_once(page, live_server):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Email:").fill("frida@example.com")
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    expect(page).to_have_url(f"{live_server.url}/profile/")
    expect(page.get_by_test_id("verify-email-banner")).to_be_visible()

    link = link_from_mail(mail.outbox[-1].body).replace("http://testserver", live_server.url)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    page.goto(f"{live_server.url}/profile/")
    expect(page.get_by_test_id("profile-email")).to_contain_text("(verified)")
    expect(page.get_by_test_id("verify-email-banner")).to_have_count(0)

    page.get_by_label("Name").fill("browser test")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("new-key-value").inner_text().strip()
    assert key.startswith("ck_live_") and len(key) > 50
    expect(page.get_by_test_id("api-keys")).to_contain_text("browser test")

    live.screenshot(page, "accounts-new-key.png")

    page.reload()
    expect(page.get_by_test_id("api-keys")).to_contain_text(key[:16])
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert key not in page.content()
