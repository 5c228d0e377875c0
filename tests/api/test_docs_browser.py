"""/api/docs as a new user meets it, in a real headless Chromium: Authorize once, try both endpoints."""

import pytest

from tests import live

pytestmark = pytest.mark.browser


@pytest.fixture
def live_api(transactional_db):
    with live.asgi_server(websockets=False) as base_url:
        yield base_url


@pytest.fixture
def page(chromium):
    page = chromium.new_page()
    page.set_default_timeout(20_000)
    return page


def _operation(page, op_id: str):
    block = page.locator(f"#operations-{op_id}")
    block.locator(".opblock-summary").first.click()
    block.get_by_role("button", name="Try it out").click()
    return block


def _execute(block):
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    return status


def test_it_runs_both_endpoints_after_one_authorize(page, live_api, alice, api_key_for, photo_jpeg, tmp_path):
    from playwright.sync_api import expect

    key = api_key_for(alice)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photo_jpeg)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_api}/api/docs")
    expect(page.get_by_role("link", name="← Back to Cutout")).to_have_attribute("href", "/")

    page.locator("button.authorize").first.click()
    dialog = page.locator(".modal-ux")
    expect(dialog.locator(".auth-container")).to_have_count(2)  # ApiKey and BearerToken, nothing else
    api_key_box = dialog.locator(".auth-container", has_text="ApiKey")
    api_key_box.locator("input").fill(key)
    api_key_box.locator("button.authorize").click()
    expect(api_key_box).to_contain_text("Authorized")
    dialog.locator("button.btn-done").first.click()

    rmbg = _operation(page, "Background_removal-rmbg")
    for name in ("w", "h", "bg_color", "image_url"):  # nothing harmful pre-filled
        field = rmbg.locator(f"input[placeholder='{name}']")
        expect(field).to_have_value("")
    rmbg.locator("input[type=file]").set_input_files(str(photo))
    status = _execute(rmbg)
    expect(status).to_have_text("200", timeout=30_000)
    expect(rmbg.locator(".live-responses-table img")).to_have_count(1)  # Swagger UI shows the image
    live.screenshot(page, "api-docs-rmbg.png")

    usage = _operation(page, "Account-api_usage_membership_usage_get")
    expect(_execute(usage)).to_have_text("200", timeout=30_000)
    expect(usage.locator(".live-responses-table")).to_contain_text('"api_usage": 1')
    live.screenshot(page, "api-docs-usage.png")
    assert not [e for e in errors if "Content Security Policy" in e], errors
