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


def _log_in(page, base: str, email: str = "alice@example.com", next_path: str = "/profile/") -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}{next_path}")


def test_it_copies_the_new_key_exactly_and_shows_how_to_use_it(chromium, live_server, alice):
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1366, "height": 850})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    _log_in(page, live_server.url)
    expect(page.get_by_test_id("curl-line")).to_have_text(
        f'curl -X POST {live_server.url}/rmbg -H "x-api-key: $CUTOUT_API_KEY" -F image=@photo.jpg -o cutout.png')

    page.get_by_label("Name").fill("copy test")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("new-key-value").inner_text()
    page.get_by_test_id("copy-key").click()
    expect(page.get_by_test_id("copy-key-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == key  # no trailing newline, no spaces
    assert key.startswith("ck_live_") and key == key.strip()
    expect(page.get_by_test_id("curl-line")).to_contain_text(f"{live_server.url}/rmbg -H \"x-api-key: {key}\"")
    live.screenshot(page, "profile-copy-key.png")

    page.get_by_test_id("copy-curl").click()
    assert page.evaluate("navigator.clipboard.readText()").startswith(f"curl -X POST {live_server.url}/rmbg")
    context.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_it_puts_remember_me_beside_its_checkbox(chromium, live_server, width):
    context = chromium.new_context(viewport={"width": width, "height": 850})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    box = page.get_by_role("checkbox", name="Remember Me").bounding_box()
    label = page.locator("label[for=id_remember]").bounding_box()
    password = page.get_by_label("Password").bounding_box()
    assert abs(box["x"] - password["x"]) <= 2  # left-aligned with the fields, not centred
    assert box["x"] + box["width"] <= label["x"]  # the label follows the box on the same line
    assert abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) <= 4
    live.screenshot(page, f"login-{width}.png")
    context.close()


def _contrast(rgb_a: str, rgb_b: str) -> float:
    def luminance(css: str) -> float:
        channels = [int(c) / 255 for c in css[css.index("(") + 1:css.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    low, high = sorted((luminance(rgb_a), luminance(rgb_b)))
    return (high + 0.05) / (low + 0.05)


def test_it_draws_links_with_enough_contrast(chromium, live_server, alice):
    page = chromium.new_page()
    _log_in(page, live_server.url, next_path="/editor/")
    label = page.get_by_text("choose files", exact=True)
    colour = label.evaluate("e => getComputedStyle(e).color")
    for background in (label.evaluate("e => getComputedStyle(e.closest('.dropzone')).backgroundColor"),
                       "rgb(238, 244, 255)"):  # the drop zone's hover colour
        assert _contrast(colour, background) >= 4.5, (colour, background)
    link = page.get_by_role("link", name="Pricing")
    assert _contrast(link.evaluate("e => getComputedStyle(e).color"), "rgb(255, 255, 255)") >= 4.5
