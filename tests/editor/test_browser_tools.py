"""Editor 2.0 in a real headless Chromium against a real ASGI server: nothing broken before a
result, the touch-up brush (erase, restore, undo) in the downloaded pixels for free, the compare
slider and 100 %/fit, a background image, a batch of three into a ZIP, the keyboard, axe-core."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from tests import live

from .conftest import DESKTOP, _sign_in, photo_bytes, usage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SIDE = 640
CHEST = (320, 330)  # the astronaut's suit in the 640 px photo: foreground for the model


def _expect(locator):
    from playwright.sync_api import expect

    return expect(locator)


def _photo(tmp_path, name="astronaut.jpg", side=SIDE, crop=None) -> Path:
    path = tmp_path / name
    data = photo_bytes(side)
    if crop:
        image = Image.open(io.BytesIO(data)).crop(crop)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        data = buffer.getvalue()
    path.write_bytes(data)
    return path


def _process(page, path) -> None:
    page.set_input_files("#file-input", str(path))  # processing starts on the pick itself
    _expect(page.get_by_test_id("stage")).to_have_text("Done", timeout=120_000)


def _apply_and_wait(page, button) -> None:
    with page.expect_response(lambda r: r.url.endswith("/render/")) as rendered:
        button.click()
    assert rendered.value.status == 200, rendered.value.text()
    _expect(page.get_by_test_id("stage")).to_have_text("Done")


def _download(page) -> Image.Image:
    with page.expect_download() as info:
        page.get_by_test_id("download").click()
    image = Image.open(io.BytesIO(Path(info.value.path()).read_bytes()))
    image.load()
    return image.convert("RGBA")


def _app_charges(redis_client, user) -> int:
    return sum(v for k, v in usage(redis_client, user).items() if ":app_usage:" in k and ":cycle:" not in k)


VISIBILITY = """() => ['#download', '#img-before', '#img-after'].map((sel) => {
  const node = document.querySelector(sel);
  const style = getComputedStyle(node);
  const box = node.getBoundingClientRect();
  const shown = style.display !== 'none' && style.visibility !== 'hidden' && box.width > 0 && box.height > 0;
  return {sel, shown, broken: shown && node.tagName === 'IMG' && !(node.complete && node.naturalWidth > 0)};
})"""


PINCH = """() => {
  const v = document.getElementById('tu-viewport');
  const r = v.getBoundingClientRect();
  const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
  const fire = (type, id, x) => v.dispatchEvent(new PointerEvent(type, {pointerId: id, pointerType: 'touch',
    clientX: x, clientY: cy, bubbles: true, isPrimary: id === 11, button: 0, buttons: 1}));
  fire('pointerdown', 11, cx - 50); fire('pointerdown', 12, cx + 50);
  fire('pointermove', 12, cx + 150);  // 100 px apart → 200 px apart
  fire('pointerup', 11, cx - 50); fire('pointerup', 12, cx + 150);
}"""


FOCUS_RING = """() => {
  const node = document.activeElement;
  if (!node || node === document.body || !node.closest('#editor')) return null;
  const shown = node.classList.contains('visually-hidden') ? node.nextElementSibling : node;
  const style = getComputedStyle(shown);
  return {what: node.id || node.dataset.testid || node.outerHTML.slice(0, 60),
          ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
}"""


def _shown(page) -> dict[str, dict]:
    return {item["sel"]: item for item in page.evaluate(VISIBILITY)}


def test_it_shows_no_download_or_broken_image_before_a_result(editor, tmp_path):
    page = editor
    assert not any(item["shown"] for item in _shown(page).values())  # computed, not the attribute
    live.screenshot(page, "editor-empty.png")

    # Every change of the stage label during processing records what is shown at that moment.
    page.evaluate("""() => {
      window.seen = [];
      const label = document.getElementById('bar-label');
      new MutationObserver(() => {
        const d = document.getElementById('download');
        window.seen.push([label.textContent, getComputedStyle(d).display !== 'none' && d.offsetWidth > 0]);
      }).observe(label, {childList: true, characterData: true, subtree: true});
    }""")
    page.set_input_files("#file-input", str(_photo(tmp_path, side=1280)))
    _expect(page.get_by_test_id("stage")).to_have_text(re.compile("Upload|Received|Queued|Finding|Compos|Encod"))
    live.screenshot(page, "editor-processing.png")
    _expect(page.get_by_test_id("stage")).to_have_text("Done", timeout=120_000)
    seen = page.evaluate("window.seen")
    assert [label for label, shown in seen if shown] == ["Done"], seen  # only once there is a result
    live.wait_until(page, "[...document.querySelectorAll('#stage img')].every(i => i.complete)")
    assert _shown(page)["#download"]["shown"] and not any(i["broken"] for i in _shown(page).values())

    # A file that is not an image: the server's message, and still no Download or broken image.
    bad = tmp_path / "fake.png"
    bad.write_bytes(b"this is not a png at all")
    page.set_input_files("#file-input", str(bad))
    _expect(page.get_by_test_id("error")).to_have_text(
        "File does not appear to be a valid image (invalid file signature)")
    _expect(page.get_by_test_id("stage")).to_have_text("Failed")
    shown = _shown(page)
    assert not any(item["shown"] or item["broken"] for item in shown.values()), shown
    assert page.problems == [] or all("400" in p for p in page.problems), page.problems


def test_it_erases_restores_and_undoes_touchups_in_the_download_for_free(editor, tmp_path, alice,
                                                                         redis_client):
    page = editor
    _process(page, _photo(tmp_path))
    charged = usage(redis_client, alice)
    assert _app_charges(redis_client, alice) == 1
    assert _download(page).getpixel(CHEST)[3] > 240

    dialog = page.get_by_test_id("touchup-dialog")

    def open_touchup():
        page.get_by_test_id("touchup").click()
        _expect(dialog).to_have_attribute("data-ready", "true")

    def drag(points):
        box = page.locator("#tu-canvas").bounding_box()  # the canvas as shown (zoom and pan included)
        scale = box["width"] / SIDE
        screen = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in points]
        page.mouse.move(*screen[0])
        page.mouse.down()
        for point in screen[1:]:
            page.mouse.move(*point, steps=8)
        page.mouse.up()

    stroke = [(CHEST[0] - 60, CHEST[1]), (CHEST[0] + 60, CHEST[1])]
    open_touchup()
    # Zoom with the wheel stops at 400 % of the image's pixels; Pan moves it; Fit brings it back.
    viewport = page.locator("#tu-viewport").bounding_box()
    page.mouse.move(viewport["x"] + viewport["width"] / 2, viewport["y"] + viewport["height"] / 2)
    for _ in range(12):
        page.mouse.wheel(0, -400)
    _expect(page.get_by_test_id("zoom")).to_have_text("400 %")
    page.get_by_test_id("tool-pan").check()
    before = page.locator("#tu-canvas").bounding_box()
    page.mouse.move(viewport["x"] + viewport["width"] / 2, viewport["y"] + viewport["height"] / 2)
    page.mouse.down()
    page.mouse.move(viewport["x"] + viewport["width"] / 2 + 100, viewport["y"] + viewport["height"] / 2, steps=4)
    page.mouse.up()
    assert page.locator("#tu-canvas").bounding_box()["x"] == pytest.approx(before["x"] + 100, abs=1)
    _expect(dialog).to_have_attribute("data-strokes", "0")  # panning paints nothing
    page.get_by_role("button", name="Fit", exact=True).last.click()
    fitted = page.get_by_test_id("zoom").text_content()
    # Two fingers moving apart zoom in (and paint nothing).
    page.evaluate(PINCH)
    assert int(page.get_by_test_id("zoom").text_content().split()[0]) == pytest.approx(
        2 * int(fitted.split()[0]), abs=2)
    _expect(dialog).to_have_attribute("data-strokes", "0")
    page.get_by_role("button", name="Fit", exact=True).last.click()
    page.get_by_test_id("tool-erase").check()
    page.locator("#tu-size").fill("100")
    page.locator("#tu-hardness").fill("100")
    drag(stroke)
    _expect(dialog).to_have_attribute("data-strokes", "1")
    live.screenshot(page, "editor-brush.png")
    _apply_and_wait(page, page.get_by_test_id("touchup-apply"))
    assert _download(page).getpixel(CHEST)[3] == 0  # erased in the downloaded file
    _expect(page.get_by_test_id("reset-touchups")).to_be_visible()

    open_touchup()
    page.get_by_test_id("tool-restore").check()
    drag(stroke)
    _apply_and_wait(page, page.get_by_test_id("touchup-apply"))
    assert _download(page).getpixel(CHEST)[3] == 255  # restored

    open_touchup()
    _expect(dialog).to_have_attribute("data-strokes", "2")  # the strokes came back with the job
    page.locator("#tu-viewport").hover()
    page.keyboard.press("Control+z")  # undo the restore
    _expect(dialog).to_have_attribute("data-strokes", "1")
    page.keyboard.press("Control+Shift+z")  # redo it
    _expect(dialog).to_have_attribute("data-strokes", "2")
    page.keyboard.press("Control+z")
    _apply_and_wait(page, page.get_by_test_id("touchup-apply"))
    assert _download(page).getpixel(CHEST)[3] == 0  # the undo reverted the restore

    # A later option change keeps the touch-ups; Reset touch-ups is one click.
    page.get_by_label("Format").select_option("png")
    _apply_and_wait(page, page.get_by_test_id("apply"))
    assert _download(page).getpixel(CHEST)[3] == 0
    _apply_and_wait(page, page.get_by_test_id("reset-touchups"))
    assert _download(page).getpixel(CHEST)[3] > 240
    assert usage(redis_client, alice) == charged  # nothing charged for any of it
    assert page.problems == []


def test_it_compares_with_a_slider_and_zooms_to_100_percent(editor, tmp_path):
    page = editor
    _process(page, _photo(tmp_path, side=1200))
    after = page.get_by_test_id("result-image")
    split = page.get_by_test_id("split")
    _expect(split).to_be_visible()

    def visible_after_share():
        box = page.locator("#stage").bounding_box()
        clip = after.evaluate("img => getComputedStyle(img).clipPath")
        left = float(re.search(r"inset\(0px 0px 0px ([\d.]+)%\)", clip).group(1))
        return (100 - left) / 100, box

    split.fill("20")
    share, box = visible_after_share()
    assert share == pytest.approx(0.8)
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)  # drag/click on the image
    share, _ = visible_after_share()
    assert share == pytest.approx(0.25, abs=0.02)
    assert split.input_value() == "75"
    live.screenshot(page, "editor-result-slider.png")

    page.get_by_test_id("view-actual").click()
    assert page.locator("#stage").bounding_box()["width"] == pytest.approx(1200, abs=1)  # 100 %: own pixels
    page.get_by_test_id("view-fit").click()
    viewer = page.get_by_test_id("viewer").bounding_box()
    assert page.locator("#stage").bounding_box()["width"] <= viewer["width"]
    assert page.problems == []


def test_it_renders_an_uploaded_background_image_into_the_download(editor, tmp_path, alice, redis_client):
    page = editor
    _process(page, _photo(tmp_path))
    charged = usage(redis_client, alice)
    corner = _download(page).getpixel((4, 4))
    assert corner[3] < 10  # the model's background

    sky = tmp_path / "sky.png"
    Image.new("RGB", (80, 60), (10, 20, 230)).save(sky)
    page.get_by_label("Image", exact=True).check()
    page.set_input_files("#bg-file", str(sky))
    _expect(page.locator("#bg-file-name")).to_have_text("sky.png")
    _apply_and_wait(page, page.get_by_test_id("apply"))
    image = _download(page)
    assert image.getpixel((4, 4)) == pytest.approx((10, 20, 230, 255), abs=4)  # filled behind the subject
    assert image.getpixel(CHEST)[2] < 200  # the subject stays in front
    assert usage(redis_client, alice) == charged
    assert page.problems == []


def test_it_processes_a_batch_of_three_into_a_zip(editor, tmp_path, alice, redis_client):
    page = editor
    paths = [_photo(tmp_path, f"photo-{n}.jpg", side=side) for n, side in enumerate((320, 400, 480))]
    page.set_input_files("#file-input", [str(p) for p in paths])
    cards = page.get_by_test_id("batch-card")
    _expect(cards).to_have_count(3)  # and they start on their own
    _expect(page.locator(".batch-card[data-state=done]")).to_have_count(3, timeout=120_000)
    _expect(page.get_by_test_id("batch-zip")).to_be_visible()
    live.screenshot(page, "editor-batch.png")
    assert _app_charges(redis_client, alice) == 3  # one credit per image

    with page.expect_download() as info:
        page.get_by_test_id("batch-zip").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert sorted(archive.namelist()) == [f"photo-{n}-cutout.webp" for n in range(3)]
    sizes = sorted(Image.open(io.BytesIO(archive.read(name))).size for name in archive.namelist())
    assert sizes == [(320, 320), (400, 400), (480, 480)]
    for name in archive.namelist():
        assert Image.open(io.BytesIO(archive.read(name))).mode == "RGBA"
    _expect(page.get_by_test_id("recent").locator("[data-job]")).to_have_count(3)

    # A batch with a file the server refuses: that card fails, and costs nothing.
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image at all")
    page.set_input_files("#file-input", [str(paths[0]), str(bad)])
    _expect(cards).to_have_count(2)
    _expect(page.locator(".batch-card[data-state=error]")).to_have_count(1, timeout=120_000)
    _expect(page.locator(".batch-card[data-state=done]")).to_have_count(1, timeout=120_000)
    _expect(page.locator(".batch-card[data-state=error]")).to_contain_text("(not charged)")
    assert _app_charges(redis_client, alice) == 4


def test_it_says_the_final_size_and_shows_errors_instead_of_done(editor, tmp_path):
    page = editor
    _process(page, _photo(tmp_path, crop=(0, 0, 640, 427)))  # 3:2
    page.get_by_label("Width").fill("400")
    _expect(page.get_by_label("Height")).to_have_value("267")
    page.get_by_role("button", name="Rotate 90° counter-clockwise").click()
    _expect(page.get_by_test_id("output-size")).to_contain_text("Output: 267 × 400 px")
    _apply_and_wait(page, page.get_by_test_id("apply"))
    _expect(page.get_by_test_id("result-info")).to_contain_text("267 × 400 px")

    page.get_by_label("Colour", exact=True).check()
    page.get_by_label("Background colour (hex or name)").fill("#12345")
    page.get_by_test_id("apply").click()
    _expect(page.get_by_test_id("error")).to_have_text(
        "Invalid color format '#12345'. Use hex format: #RGB, #RGBA, #RRGGBB, or #RRGGBBAA")
    _expect(page.get_by_test_id("stage")).to_have_text("Failed")  # not a green "Done" above it
    assert page.get_by_test_id("progress").get_attribute("data-stage") == "error"
    page.get_by_label("Background colour (hex or name)").fill("rebeccapurple")  # names are fine
    _apply_and_wait(page, page.get_by_test_id("apply"))
    _expect(page.get_by_test_id("error")).to_be_hidden()


def test_it_brings_the_result_into_view_and_lays_out_the_empty_list(editor, tmp_path):
    page = editor
    width = page.locator("#recent-empty").bounding_box()["width"]
    assert width > 600, width  # one line across the list, not a narrow column
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    _process(page, _photo(tmp_path))
    top = page.locator("#output").bounding_box()["y"]  # relative to the viewport
    assert 0 <= top < DESKTOP["height"] / 2


def test_it_shows_one_verification_notice_to_an_unverified_user(context, asgi_server, charlie):
    _sign_in(context, asgi_server, charlie)
    page = context.new_page()
    page.goto(f"{asgi_server}/editor/")
    # One notice (the editor's, with SPEC's words), one way to resend; not the site banner too.
    _expect(page.get_by_text(re.compile("verify|not verified"))).to_have_count(1)
    _expect(page.get_by_test_id("verify-email-banner")).to_have_count(0)
    _expect(page.get_by_role("button", name="Resend the verification email")).to_have_count(1)
    _expect(page.get_by_test_id("editor-unverified")).to_contain_text("Email address not verified")


def test_it_works_from_the_keyboard(editor, tmp_path, alice):
    from editor.models import EditorJob

    page = editor
    # Paste anywhere: an image on the clipboard lands in the editor.
    data = list(photo_bytes(320))
    page.evaluate("""(bytes) => {
      const file = new File([new Uint8Array(bytes)], 'pasted.jpg', {type: 'image/jpeg'});
      const transfer = new DataTransfer();
      transfer.items.add(file);
      document.body.dispatchEvent(new ClipboardEvent('paste', {clipboardData: transfer, bubbles: true}));
    }""", data)
    _expect(page.locator("#picked")).to_contain_text("pasted.jpg")  # and it starts on its own
    _expect(page.get_by_test_id("stage")).to_have_text("Done", timeout=120_000)

    # A visible focus ring on what the keyboard reaches.
    page.get_by_test_id("dropzone").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    outline = page.get_by_test_id("dropzone").evaluate("n => getComputedStyle(n).outlineStyle + ' ' + getComputedStyle(n).outlineWidth")
    assert outline == "solid 3px", outline

    # Every control Tab reaches shows a focus ring (a hidden file input shows it on its label).
    page.locator("body").focus()
    without_ring = []
    for _ in range(60):
        page.keyboard.press("Tab")
        found = page.evaluate(FOCUS_RING)
        if found and not found["ring"]:
            without_ring.append(found["what"])
    assert without_ring == []

    # Esc closes dialogs.
    page.get_by_role("button", name="Keyboard shortcuts").click()
    _expect(page.locator("#shortcuts-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    _expect(page.locator("#shortcuts-dialog")).to_be_hidden()
    page.get_by_test_id("touchup").click()
    _expect(page.get_by_test_id("touchup-dialog")).to_have_attribute("data-ready", "true")
    page.keyboard.press("Escape")
    _expect(page.get_by_test_id("touchup-dialog")).to_be_hidden()

    # Delete on a focused recent image discards it (and its files) on the server.
    item = page.get_by_test_id("recent").locator("[data-job]").first
    job_id = item.get_attribute("data-job")
    item.focus()
    page.keyboard.press("Delete")  # asks first
    _expect(page.get_by_test_id("discard-dialog")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/delete/")) as deleted:
        page.get_by_test_id("discard-confirm").click()
    assert deleted.value.status == 200
    _expect(page.get_by_test_id("recent").locator("[data-job]")).to_have_count(0)
    assert not EditorJob.objects.filter(pk=job_id).exists()
    _expect(page.get_by_test_id("download")).to_be_hidden()
    assert page.problems == []


def _axe_serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_it_has_no_serious_accessibility_violations(editor, tmp_path):
    page = editor
    assert _axe_serious(page) == []  # empty, desktop
    _process(page, _photo(tmp_path))
    assert _axe_serious(page) == []  # with a result and the compare slider
    page.get_by_test_id("touchup").click()
    _expect(page.get_by_test_id("touchup-dialog")).to_have_attribute("data-ready", "true")
    assert _axe_serious(page) == []  # the touch-up dialog
    page.keyboard.press("Escape")

    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert _axe_serious(page) == []
    live.screenshot(page, "editor-phone.png")
    page.get_by_test_id("touchup").click()
    _expect(page.get_by_test_id("touchup-dialog")).to_have_attribute("data-ready", "true")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    live.screenshot(page, "editor-phone-touchup.png")
    assert page.problems == []
