"""The editor in a real headless Chromium against a real ASGI server (HTTP + websocket):
sign in, upload a 1.6 MP photo, follow the stages to done, change the background for free, download."""

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from tests import live

from .conftest import PASSWORD, fund, photo_bytes, usage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

@pytest.fixture
def page(chromium):
    context = chromium.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    return context.new_page()


def test_it_uploads_follows_progress_recolours_and_downloads(page, asgi_server, alice, redis_client,
                                                             tmp_path):
    from playwright.sync_api import expect

    fund(alice)
    photo = tmp_path / "astronaut.jpg"
    photo.write_bytes(photo_bytes(1280))  # 1.64 MP

    page.goto(f"{asgi_server}/accounts/login/?next=/editor/")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{asgi_server}/editor/")
    # From here on no console errors (the login page's missing favicon is not the editor's).
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.reload()
    editor = page.get_by_test_id("editor")
    expect(editor).to_have_attribute("data-socket", "open")

    with page.expect_file_chooser():  # the drop zone works from the keyboard
        page.get_by_test_id("dropzone").press("Enter")
    started = time.monotonic()
    page.set_input_files("#file-input", str(photo))  # starts on its own
    expect(page.locator("#picked")).to_contain_text("astronaut.jpg")
    expect(page.get_by_test_id("stage")).to_have_text("Done", timeout=120_000)
    elapsed = time.monotonic() - started
    print(f"\nupload → done for a 1280×1280 JPEG ({photo.stat().st_size / 1024:.0f} KB): {elapsed:.2f} s "
          f"(in-page {int(editor.get_attribute('data-last-ms')) / 1000:.2f} s)")

    # The stages came over the websocket, in order, before the HTTP answer finished the bar.
    stages = editor.get_attribute("data-last-stages")
    assert stages.startswith("received,queued,segmenting,compositing,encoding"), stages
    expect(page.get_by_test_id("progress")).to_have_attribute("aria-valuenow", "100")
    result = page.get_by_test_id("result-image")
    expect(result).to_be_visible()
    assert result.evaluate("img => img.complete && img.naturalWidth") == 1280
    expect(page.get_by_test_id("result-info")).to_contain_text("1280 × 1280 px · WEBP")
    expect(page.get_by_test_id("recent").locator("[data-job]")).to_have_count(1)
    charged = usage(redis_client, alice)
    assert sum(v for k, v in charged.items() if ":app_usage:" in k and ":cycle:" not in k) == 1

    # A new background colour: re-rendered from the stored mask, nothing charged.
    page.get_by_label("Colour", exact=True).check()
    page.get_by_label("Background colour (hex or name)").fill("#00c853")
    with page.expect_response(lambda r: r.url.endswith("/render/")) as rendered:
        page.get_by_test_id("apply").click()
    assert rendered.value.status == 200
    expect(page.get_by_test_id("stage")).to_have_text("Done")
    assert usage(redis_client, alice) == charged

    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    download = download_info.value
    assert download.suggested_filename == "astronaut-cutout.webp"
    data = Path(download.path()).read_bytes()
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP" and image.size == (1280, 1280)
    # The new background shows in the corner; the int8 model (the default) leaves a faint alpha there
    # (the photo's colour moves it by ~4 levels: (4, 197, 87)), so 6 levels, not the float model's 3.
    assert image.convert("RGBA").getpixel((5, 5)) == pytest.approx((0, 200, 83, 255), abs=6)

    live.screenshot(page, "editor-done.png")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    live.screenshot(page, "editor-phone.png")
    assert problems == []
