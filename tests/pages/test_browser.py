"""The account pages in a real headless Chromium: usage with its chart and picker, pricing → Stripe
Checkout (Stripe's SDK call mocked with autospec), the landing page. Screenshots go to var/test-artifacts/."""

from datetime import UTC, datetime
from types import SimpleNamespace
from unittest import mock

import pytest
from django.conf import settings

from billing.usage import usage_daily
from tests import live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

@pytest.fixture
def page_for(chromium, client, live_server):
    """A page, signed in as `user` (a session cookie from Django's test client) or anonymous."""

    def _page(user=None):
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        if user is not None:
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie,
                                  "url": live_server.url}])
        return context.new_page()

    return _page


def test_it_renders_the_usage_page_with_its_chart(page_for, live_server, seeded):
    from playwright.sync_api import expect

    page = page_for(seeded.user)
    page.goto(f"{live_server.url}/account/usage/")
    expect(page.get_by_test_id("usage-membership")).to_have_text("Premium-1000")
    expect(page.get_by_test_id("usage-remaining")).to_have_text("995")
    expect(page.get_by_test_id("usage-prepaid")).to_have_text("100")
    chart = page.get_by_test_id("usage-chart")
    expect(chart).to_be_visible()
    first = datetime.fromtimestamp(seeded.current[0], tz=UTC).date()
    days = usage_daily(user_id=seeded.user.pk, start=first, end=datetime.now(UTC).date())
    expect(chart.locator("g.day")).to_have_count(len(days))
    box = chart.locator("g.day rect.bar-api").nth(3).bounding_box()  # the 4 API images on day 4
    assert box is not None and box["height"] > 0
    live.screenshot(page, "usage.png")

    page.get_by_label("Billing cycle").select_option(str(seeded.previous[0]))  # usage.js submits on change
    expect(page).to_have_url(f"{live_server.url}/account/usage/?periodStartUnix={seeded.previous[0]}")
    expect(page.get_by_test_id("usage-app")).to_have_text("3")
    expect(page.get_by_test_id("usage-api")).to_have_text("2")
    expect(page.get_by_test_id("usage-end")).to_have_attribute("data-value", str(seeded.previous[1]))


def test_it_starts_stripe_checkout_from_the_pricing_page(page_for, live_server, alice):
    from playwright.sync_api import expect

    page = page_for(alice)
    with mock.patch("stripe.checkout.Session.create", autospec=True) as create:
        create.return_value = SimpleNamespace(url=f"{live_server.url}/billing/success/")
        page.goto(f"{live_server.url}/pricing/")
        expect(page.get_by_test_id("plan-free")).to_contain_text("Your plan")
        live.screenshot(page, "pricing.png")
        page.get_by_test_id("buy-plan-premium-5000").click()
        expect(page).to_have_url(f"{live_server.url}/billing/success/")
        expect(page.get_by_test_id("checkout-success")).to_be_visible()
    params = create.call_args.kwargs
    assert create.call_count == 1
    assert (params["api_key"], params["mode"]) == ("sk_test_pages", "subscription")
    assert params["line_items"] == [{"price": "price_premium_5000", "quantity": 1}]
    assert params["metadata"]["user_id"] == str(alice.pk)


def test_it_renders_the_landing_page_with_its_sample(page_for, live_server):
    from playwright.sync_api import expect

    page = page_for()
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Remove the background of any image")).to_be_visible()
    images = page.get_by_test_id("home-sample").locator("img")
    expect(images).to_have_count(2)
    page.wait_for_function("Array.from(document.querySelectorAll('[data-testid=home-sample] img'))"
                           ".every(i => i.complete && i.naturalWidth === 360)")
    expect(page.get_by_test_id("snippet-curl")).to_contain_text(f"{live_server.url}/rmbg")
    live.screenshot(page, "home.png")
