"""axe-core inside the page (from the axe-playwright-python package, offline) on every page, at a
desktop and a phone size: no serious or critical violation; and no page scrolls sideways on a phone."""

import pytest

from tests import live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": (1366, 850), "phone": (390, 844)}
PAGES = {  # name: (path, signed in)
    "landing": ("/", False),
    "signup": ("/accounts/signup/", False),
    "login": ("/accounts/login/", False),
    "profile": ("/profile/", True),
    "usage": ("/account/usage/", True),
    "pricing": ("/pricing/", True),
    "editor": ("/editor/", True),
    "404": ("/no/such/page/", False),
    "status": ("/status/", False),
}


def _prepare(page, name: str) -> None:
    """Bring out what the page hides at first, so axe checks it too."""
    if name == "profile":  # the once-shown key with its copy buttons
        page.get_by_label("Name").fill("axe")
        page.get_by_role("button", name="Create key").click()
        page.get_by_test_id("new-key-value").wait_for()
    if name == "usage":  # the table under the chart, and a tooltip
        page.get_by_text("Show the daily numbers as a table").click()
        page.get_by_test_id("usage-chart").locator("g.day").last.focus()


def _audit(page_for, live_server, user, name: str, size: str) -> list[str]:
    path, signed_in = PAGES[name]
    width, height = SIZES[size]
    page = page_for(user if signed_in else None, width=width, height=height)
    page.goto(f"{live_server.url}{path}")
    _prepare(page, name)
    assert not live.scrolls_sideways(page) or size == "desktop", f"{name} scrolls sideways at {width}px"
    return live.axe_serious(page)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", [name for name in PAGES if name != "editor"])
def test_it_has_no_serious_accessibility_violations(page_for, live_server, seeded, name, size):
    assert _audit(page_for, live_server, seeded.user, name, size) == []


@pytest.mark.parametrize("size", SIZES)
def test_it_has_no_serious_accessibility_violations_in_the_editor(page_for, live_server, seeded, size):
    assert _audit(page_for, live_server, seeded.user, "editor", size) == []


@pytest.mark.parametrize("size", SIZES)
def test_it_has_no_serious_accessibility_violations_in_the_api_docs(page_for, live_server, seeded, size):
    width, height = SIZES[size]
    page = page_for(seeded.user, width=width, height=height)
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    # templates/ninja/swagger.html: a language, readable colours, no control nested in another
    assert not live.scrolls_sideways(page)
    assert live.axe_serious(page) == []
