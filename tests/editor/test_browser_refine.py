"""The editor says what refinement did (issue 29), from the same value as X-Refine and
X-Refine-Reason, in a real Chromium against a real ASGI server: a roughly right mask → "Edges
refined"; the same job re-rendered (free) with a band over the work limit → "Refined on a reduced
copy"; out of time or with the guard judging the mask wrong → "Not refined: <why>"; refine off →
nothing. The
progress stream has a "refining" stage between segmenting and compositing."""

import pytest

from tests import live

from .conftest import PASSWORD, fund

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium):
    return chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()


def _rerender(page) -> None:
    with page.expect_response(lambda r: r.url.endswith("/render/")) as rendered:
        page.get_by_test_id("apply").click()
    assert rendered.value.status == 200


def test_it_shows_what_refinement_did(page, asgi_server, alice, quality_dir, monkeypatch):
    from playwright.sync_api import expect

    fund(alice)
    # The server runs in this process and reads the refine limits on every refinement. This test is
    # about the message, not the time: a generous budget (the first solve here also loads pymatting).
    monkeypatch.setenv("REFINE_TIME_BUDGET", "300")
    page.goto(f"{asgi_server}/accounts/login/?next=/editor/")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{asgi_server}/editor/")
    editor = page.get_by_test_id("editor")
    expect(editor).to_have_attribute("data-socket", "open")
    note = page.get_by_test_id("refine-note")

    page.get_by_label("Refine edges (hair, fur)").check()  # before the file: choosing it starts the work
    page.set_input_files("#file-input", str(quality_dir / "am_GT19_image.png"))  # a pumpkin: a right mask
    expect(page.get_by_test_id("stage")).to_have_text("Done", timeout=180_000)
    expect(note).to_have_text("Edges refined")
    stages = editor.get_attribute("data-last-stages")
    assert stages.startswith("received,queued,segmenting,refining,compositing,encoding"), stages

    monkeypatch.setenv("REFINE_UNKNOWN_MAX", "8000")  # the band is over it: solved on a smaller copy
    _rerender(page)
    expect(note).to_have_text("Refined on a reduced copy", timeout=60_000)

    monkeypatch.setenv("REFINE_TIME_BUDGET", "0")
    _rerender(page)
    expect(note).to_have_text("Not refined: it took too long", timeout=60_000)

    monkeypatch.setenv("REFINE_TIME_BUDGET", "300")
    monkeypatch.setenv("REFINE_UNDECIDED_MAX", "0")  # any undecided pixel: the mask is judged wrong
    _rerender(page)
    expect(note).to_have_text("Not refined: the mask looks wrong here (the brush can fix it)", timeout=60_000)

    page.get_by_label("Refine edges (hair, fur)").uncheck()
    _rerender(page)
    expect(page.get_by_test_id("stage")).to_have_text("Done", timeout=60_000)
    expect(note).to_be_hidden()
    live.wait_until(page, "document.getElementById('refine-note').textContent === ''")
