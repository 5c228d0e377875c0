"""The account pages in a real headless Chromium: usage with its chart and picker, pricing → Stripe
Checkout (Stripe's SDK call mocked with autospec), the landing page. Screenshots go to var/test-artifacts/."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest

from billing.usage import usage_daily
from tests import live

from .conftest import invoice_paid, spend

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

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
    live.wait_until(page, "Array.from(document.querySelectorAll('[data-testid=home-sample] img'))"
                          ".every(i => i.complete && i.naturalWidth === 360)")
    expect(page.get_by_test_id("snippet-curl")).to_contain_text(f"{live_server.url}/rmbg")
    live.screenshot(page, "home.png")


def test_it_shows_prices_on_the_pricing_page(page_for, live_server, alice, stripe_price_api):
    from playwright.sync_api import expect

    page = page_for(alice, width=1366, height=850)
    page.goto(f"{live_server.url}/pricing/")
    plan = page.get_by_test_id("plan-premium-5000")
    expect(plan.get_by_test_id("plan-price")).to_have_text("$29 / month")  # Stripe's amount
    expect(plan.get_by_test_id("plan-price-per-image")).to_have_text("$0.0058 per image")
    expect(page.get_by_test_id("pack-pack-100").get_by_test_id("pack-price-per-image")).to_have_text("$0.05 per image")
    expect(page.get_by_test_id("plan-free").get_by_test_id("plan-price")).to_have_text("$0 / month")
    live.screenshot(page, "pricing-prices.png")
    page.reload()
    assert len(stripe_price_api.requests) == 4  # one fetch per Price ID, none for the second view


def test_it_shows_the_catalogue_with_prices_when_billing_is_off(page_for, live_server, settings):
    from playwright.sync_api import expect

    settings.STRIPE_SECRET_KEY = ""
    page = page_for(width=390, height=844)
    page.goto(f"{live_server.url}/pricing/")
    expect(page.get_by_test_id("billing-off")).to_have_text("Billing is off on this server: purchases are not available.")
    expect(page.get_by_test_id("plan-premium-1000").get_by_test_id("plan-price")).to_have_text("$10 / month")
    expect(page.get_by_role("button", name="Subscribe").first).to_be_disabled()
    live.screenshot(page, "pricing-billing-off-phone.png")


@pytest.fixture
def month_of_usage(alice):
    """alice in a 31-day Stripe period ending tomorrow, with images on every third day."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=30)
    assert invoice_paid(alice, start=int(start.timestamp()), end=int((now + timedelta(days=1)).timestamp())) == "processed"
    for i in range(0, 31, 3):
        spend(alice, source="app", count=1 + i % 4, now=start + timedelta(days=i))
        spend(alice, source="api", count=i % 3 + 1, now=start + timedelta(days=i))
    return alice


@pytest.mark.parametrize(("width", "height"), [(1366, 850), (390, 844)])
def test_it_draws_chart_labels_that_never_overlap(page_for, live_server, month_of_usage, width, height):
    from playwright.sync_api import expect

    page = page_for(month_of_usage, width=width, height=height)
    page.goto(f"{live_server.url}/account/usage/")
    chart = page.get_by_test_id("usage-chart")
    expect(chart.locator("g.day")).to_have_count(31)
    boxes = [label.bounding_box() for label in chart.locator("text.day-label").all()]
    assert len(boxes) >= 4
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left["x"] + left["width"] <= right["x"], (left, right)
    assert min(box["height"] for box in boxes) >= 12  # legible on a phone too: never scaled below 12 px
    today = f"{datetime.now(UTC):%b} {datetime.now(UTC).day}"
    expect(chart.locator("text.day-label").last).to_have_text(today)
    assert not live.scrolls_sideways(page)  # the chart scrolls inside its box, the page does not
    page.get_by_test_id("usage-chart").scroll_into_view_if_needed()
    live.screenshot(page, f"usage-chart-{width}.png")


def test_it_shows_a_days_numbers_on_hover_on_focus_and_in_a_table(page_for, live_server, month_of_usage):
    from playwright.sync_api import expect

    page = page_for(month_of_usage, width=1366, height=850)
    page.goto(f"{live_server.url}/account/usage/")
    days = page.get_by_test_id("usage-chart").locator("g.day")
    tip = page.get_by_test_id("chart-tip")
    expect(tip).to_be_hidden()
    days.nth(3).hover()  # day 3: 4 app + 1 API
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("Editor 4 · API 1 · Total 5")
    tip_box, bar_box = tip.bounding_box(), days.nth(3).bounding_box()
    assert tip_box["y"] + tip_box["height"] <= bar_box["y"] + bar_box["height"]  # above the bar's bottom
    page.mouse.move(0, 0)
    expect(tip).to_be_hidden()

    page.get_by_label("Billing cycle").focus()
    page.keyboard.press("Tab")  # Show button
    page.keyboard.press("Tab")  # the chart: one tab stop, on the newest day
    expect(days.last).to_be_focused()
    expect(tip).to_contain_text("Editor 3 · API 1 · Total 4")  # today, day 30
    for _ in range(3):
        page.keyboard.press("ArrowLeft")  # back to day 27: 4 app + 1 API
    expect(days.nth(27)).to_be_focused()
    expect(tip).to_contain_text("Editor 4 · API 1 · Total 5")
    live.screenshot(page, "usage-chart-tooltip.png")

    page.get_by_text("Show the daily numbers as a table").click()
    rows = page.get_by_test_id("usage-table").locator("tbody tr")
    expect(rows).to_have_count(31)
    expect(rows.nth(3).locator("td")).to_have_text(["4", "1", "5"])


def test_it_shows_a_site_page_for_an_unknown_address(page_for, live_server, alice):
    from playwright.sync_api import expect

    page = page_for(alice, width=1366, height=850)
    response = page.goto(f"{live_server.url}/no/such/page/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_have_text("alice@example.com")  # the site header
    expect(page.get_by_role("navigation", name="Where to go next").get_by_role("link")).to_have_count(4)
    live.screenshot(page, "404.png")
    response = page.goto(f"{live_server.url}/api/no-such-endpoint")
    assert response.status == 404 and response.json() == {"error": "Not found", "status": 404}
