"""What a new user stumbled on outside the editor (issue 30): /api/docs on a phone and for axe,
where logging in lands and what it says, the usage chart's axis and dates, the curl example's
errors, a status page, the admin's names, list, icon and read-only Stripe events."""

import html
import json
import os
import re
import subprocess
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from billing.chart import _ticks, daily_usage_svg, nice_ceiling
from tests import live

from .conftest import page_read
from .test_browser import month_of_usage  # noqa: F401

PASSWORD = "correct horse battery staple"


def _axe_all(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in Axe().run(page).response["violations"]]


# --- /api/docs --------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("width", "height"), [(1366, 850), (390, 844)])
def test_the_api_docs_fit_a_phone_and_axe_finds_nothing_even_moderate(page_for, live_server, alice, width,
                                                                       height):
    page = page_for(alice, width=width, height=height)
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.evaluate("window.innerWidth") == width  # a viewport tag: not a 980 px page zoomed out
    assert page.locator("main").count() == 1
    assert _axe_all(page) == []
    for operation in page.locator(".opblock-summary-control").all():  # every operation opened
        operation.click()
    page.wait_for_selector(".opblock-body .responses-table")
    assert page.locator(".opblock-body").count() == page.locator(".opblock").count()
    assert _axe_all(page) == []
    assert not live.scrolls_sideways(page)
    if width == 390:
        live.screenshot(page, "api-docs-phone.png")


# --- logging in -------------------------------------------------------------------------------


def test_logging_in_lands_on_the_editor_and_says_the_email(client, alice):
    login = client.get("/accounts/login/").content.decode()
    assert "Remember me" in login and "Remember Me" not in login
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/editor/"
    shown = [str(m) for m in response.context["messages"]]
    assert shown == ["Signed in as alice@example.com."], shown
    assert "as alice." not in response.content.decode()  # never the internal username


def test_logging_in_goes_back_to_the_page_it_came_from(client, alice):
    pricing = client.get("/pricing/").content.decode()
    assert 'href="/accounts/login/?next=/pricing/"' in pricing  # the header's Log in link
    response = client.post("/accounts/login/?next=/pricing/",
                           {"login": "alice@example.com", "password": PASSWORD, "next": "/pricing/"})
    assert response.status_code == 302 and response["Location"] == "/pricing/"


# --- usage chart ------------------------------------------------------------------------------


@pytest.mark.parametrize(("peak", "ticks"), [(7, [0, 2, 4, 6, 8, 10]), (10, [0, 2, 4, 6, 8, 10]), (3, [0, 1, 2, 3, 4, 5]),
                                             (2, [0, 1, 2]), (1, [0, 1]), (13, [0, 5, 10, 15, 20]),
                                             (41, [0, 10, 20, 30, 40, 50]), (101, [0, 50, 100, 150, 200]),
                                             (999, [0, 200, 400, 600, 800, 1000])])
def test_the_chart_ticks_are_whole_and_evenly_spaced(peak, ticks):
    assert _ticks(nice_ceiling(peak)) == ticks
    steps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1


def test_the_chart_dates_say_the_month():
    svg = daily_usage_svg([{"date": "2026-12-01", "app": 1, "api": 0}, {"date": "2026-12-12", "app": 0, "api": 1}])
    assert re.findall(r'class="day-label"[^>]*>([^<]+)<', svg) == ["Dec 1", "Dec 12"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_usage_chart_keeps_its_axis_and_legend_in_view_on_a_phone(page_for, live_server, month_of_usage):  # noqa: F811
    from playwright.sync_api import expect

    page = page_for(month_of_usage, width=390, height=844)
    page.goto(f"{live_server.url}/account/usage/")
    chart = page.get_by_test_id("usage-chart")
    expect(chart.locator("g.day")).to_have_count(31)
    scroller = page.locator(".chart-scroll").bounding_box()
    assert page.locator(".chart-scroll").evaluate("n => n.scrollLeft") > 0  # it starts at the newest days
    # The y axis is drawn over the scrolled chart's left edge, whole, inside the box.
    axis = page.get_by_test_id("chart-axis")
    expect(axis).to_be_visible()
    ticks = axis.locator("text.tick")
    assert [t.text_content() for t in ticks.all()] == [t.text_content() for t in chart.locator("text.tick").all()]
    for tick in ticks.all():
        box = tick.bounding_box()
        assert box["x"] >= scroller["x"] and box["x"] + box["width"] <= scroller["x"] + scroller["width"]
    # The legend is above the chart, not scrolled away with it.
    legend = page.locator(".chart-legend")
    expect(legend).to_be_visible()
    assert legend.bounding_box()["y"] + legend.bounding_box()["height"] <= scroller["y"] + 1
    # No day label shows cut by the box's edges (one the edge would cut is hidden until scrolled in).
    for label in chart.locator("text.day-label").all():
        if label.evaluate("n => getComputedStyle(n).visibility") == "hidden":
            continue
        box = label.bounding_box()
        inside = box["x"] >= scroller["x"] - 0.5 and box["x"] + box["width"] <= scroller["x"] + scroller["width"] + 0.5
        outside = box["x"] + box["width"] <= scroller["x"] or box["x"] >= scroller["x"] + scroller["width"]
        assert inside or outside, (label.text_content(), box, scroller)
    today = datetime.now(UTC)
    expect(chart.locator("text.day-label").last).to_have_text(f"{today:%b} {today.day}")
    assert not live.scrolls_sideways(page)
    page.locator(".chart-box").scroll_into_view_if_needed()
    live.screenshot(page, "usage-phone-390.png")
    assert live.axe_serious(page) == []


# --- the landing page's curl example ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the live server thread must see the key
def test_the_curl_example_prints_the_error_of_a_bad_key(client, live_server, tmp_path):
    from PIL import Image

    Image.new("RGB", (32, 32), (200, 10, 10)).save(tmp_path / "photo.jpg")
    page = page_read(client.get("/", HTTP_HOST=live_server.url.removeprefix("http://")).content.decode())
    snippet = html.unescape(page.ids["snippet-curl"]["text"])
    run = subprocess.run(["bash", "-c", snippet], cwd=tmp_path, timeout=60, capture_output=True, text=True,
                         env=os.environ | {"CUTOUT_API_KEY": "not-a-key"})
    said = run.stdout + run.stderr
    body = json.loads(said[said.index("{"):said.rindex("}") + 1])  # the server's JSON error, shown
    assert body["status"] == 401 and body["error"], said


# --- status -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_footers_status_link_opens_a_page_and_healthz_stays_json(client):
    home = client.get("/").content.decode()
    assert 'href="/status/"' in home and 'href="/healthz"' not in home
    response = client.get("/status/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "All systems working" in text
    assert text.count('data-testid="status-part"') == 3 and "Down" not in text
    health = client.get("/healthz")
    assert health["Content-Type"] == "application/json" and health.json()["status"] == "ok"


@pytest.mark.django_db
def test_the_status_page_says_what_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get("/status/")
    assert response.status_code == 503
    text = response.content.decode()
    assert "Some parts are down" in text and "Credits and rate limits (Redis)</td><td><strong>Down" in text


# --- admin ------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-admin-tests")
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_the_admin_names_each_section_and_entry_once(admin_client_):
    index = admin_client_.get("/admin/").content.decode()
    sections = [html.unescape(s).strip() for s in re.findall(r'class="section"[^>]*>([^<]+)</a>', index)]
    assert len(sections) >= 6, sections
    assert len(sections) == len(set(s.lower() for s in sections)), sections
    entries = [html.unescape(e).strip() for e in re.findall(r'<th scope="row"[^>]*>\s*<a href="[^"]+"[^>]*>([^<]+)</a>', index)]
    assert len(entries) == len(set(entries)), entries
    assert "Editor jobs" in entries and "Batch jobs" in entries


@pytest.mark.django_db
def test_the_admin_offers_no_add_for_stripe_events(admin_client_):
    listing = admin_client_.get("/admin/billing/stripeevent/").content.decode()
    assert "/admin/billing/stripeevent/add/" not in listing
    assert admin_client_.get("/admin/billing/stripeevent/add/").status_code == 403


def test_favicon_ico_is_an_icon(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content])[:4] == b"\x00\x00\x01\x00"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_admin_user_list_is_whole_at_1366(chromium, live_server, alice, bob):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-admin-tests")
    page = chromium.new_page(viewport={"width": 1366, "height": 850})
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill(admin.username)
    page.get_by_label("Password").fill("pw-for-admin-tests")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/auth/user/")
    table = page.locator("#result_list")
    table.wait_for()
    box = table.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1366, box
    # Every column in view: the list's box does not hide a part of the table (it did: "Staff statu…").
    results = page.locator("#changelist .results")
    assert results.evaluate("n => n.scrollWidth <= n.clientWidth"), results.evaluate("n => [n.scrollWidth, n.clientWidth]")
    expect_columns = ["email address", "plan", "staff status", "date joined"]
    headings = [h.lower() for h in table.locator("thead th").all_inner_texts()]
    assert all(any(c in h for h in headings) for c in expect_columns), headings
    assert not live.scrolls_sideways(page)
    live.screenshot(page, "admin-users-1366.png")
    page.close()


# --- try before signing up ----------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_landing_page_cuts_out_a_preview_without_an_account(page_for, live_server, settings, tmp_path):
    from PIL import Image
    from playwright.sync_api import expect
    from skimage import data

    from editor.models import EditorJob
    from jobs.models import BatchJob

    settings.BILLING_ANON_DAILY_LIMIT = 2
    photo = tmp_path / "astronaut.jpg"
    Image.fromarray(data.astronaut()).resize((1200, 900)).save(photo, quality=90)  # 1.08 MP
    users = get_user_model().objects.count()
    page = page_for(width=1366, height=850)
    page.goto(f"{live_server.url}/")
    tryout = page.get_by_test_id("tryout")
    expect(tryout).to_contain_text("2 a day")
    page.set_input_files("[data-testid=tryout-file]", str(photo))
    expect(page.get_by_test_id("tryout-result")).to_be_visible(timeout=120_000)
    after = page.get_by_test_id("tryout-after")
    width, height = after.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert 240_000 <= width * height <= 250_000 and width / height == pytest.approx(4 / 3, abs=0.01)
    corner = after.evaluate("""i => { const c = document.createElement('canvas'); c.width = i.naturalWidth;
      c.height = i.naturalHeight; const x = c.getContext('2d'); x.drawImage(i, 0, 0);
      return x.getImageData(2, 2, 1, 1).data[3]; }""")
    assert corner < 20  # a cut-out: the background is transparent
    signup = page.get_by_test_id("tryout-signup")
    expect(signup).to_have_text(re.compile("Sign up to download full size and edit"))
    assert signup.get_attribute("href") == "/accounts/signup/"
    page.get_by_test_id("tryout-result").scroll_into_view_if_needed()
    live.screenshot(page, "landing-tryout.png")
    assert live.axe_serious(page) == []
    # Nothing kept: no account, no editor or batch job.
    assert (get_user_model().objects.count(), EditorJob.objects.count(), BatchJob.objects.count()) == (users, 0, 0)

    # The API's anonymous daily limit, with its own message.
    page.set_input_files("[data-testid=tryout-file]", str(photo))
    expect(tryout).to_have_attribute("data-state", "done", timeout=120_000)
    page.set_input_files("[data-testid=tryout-file]", str(photo))
    expect(page.get_by_test_id("tryout-status")).to_have_text(
        "You've reached your daily limit. Please sign up for more access.", timeout=60_000)

    page.set_viewport_size({"width": 390, "height": 844})
    assert not live.scrolls_sideways(page)
    assert live.axe_serious(page) == []
    live.screenshot(page, "landing-tryout-phone.png")
