"""What a new user stumbled on in the editor (issue 30), in a real Chromium against the real ASGI
server and model: work starts on drop with the main action in view, Space pans from anywhere in
Touch up, the predicted size with crop and rotation, the compare view lines up, the progress label
only moves forward, discarding asks first, the checkerboard stays screen-sized at 400 %."""

import io
import re

import pytest
from PIL import Image

from tests import live

from .conftest import photo_bytes
from .test_browser_tools import SIDE, _apply_and_wait, _expect, _photo, _process

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The label texts in stage order (static/editor/progress.js): each label's rank.
STAGE_LABELS = ["Starting", "Uploading", "Uploaded", "Received", "Queued", "Finding", "Refining", "Compositing",
                "Encoding", "Done"]

RECORD_LABELS = """() => {
  window.labels = [];
  const label = document.getElementById('bar-label');
  new MutationObserver(() => window.labels.push(label.textContent))
    .observe(label, {childList: true, characterData: true, subtree: true});
}"""


def _rank(label: str) -> int:
    return next(i for i, prefix in enumerate(STAGE_LABELS) if label.startswith(prefix))


def _drop(page, data: bytes, name: str) -> None:
    page.evaluate("""([bytes, name]) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(bytes)], name, {type: 'image/jpeg'}));
      const zone = document.getElementById('dropzone');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
      }
    }""", [list(data), name])


def _in_view(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


def test_a_drop_starts_at_once_with_the_main_action_in_view_and_stages_only_move_forward(editor):
    page = editor
    page.evaluate(RECORD_LABELS)
    _drop(page, photo_bytes(SIDE), "dropped.jpg")
    _expect(page.locator("#picked")).to_contain_text("dropped.jpg")
    # No button to find below the fold: the upload has started, and the form's buttons stay in view.
    assert _in_view(page, page.get_by_test_id("apply"))
    _expect(page.get_by_test_id("stage")).to_have_text("Done", timeout=120_000)
    _expect(page.get_by_test_id("result-image")).to_be_visible()
    assert _in_view(page, page.get_by_test_id("download"))
    assert _in_view(page, page.get_by_test_id("apply"))
    _expect(page.get_by_test_id("upload")).to_be_hidden()  # nothing left to start
    live.screenshot(page, "editor-after-drop.png")

    labels = page.evaluate("window.labels")
    ranks = [_rank(label) for label in labels]
    assert ranks == sorted(ranks), labels  # never "Queued…" then "Uploaded, waiting…"
    percents = [int(m[1]) for label in labels if (m := re.search(r"\((\d+)%\)", label))]
    assert percents == sorted(percents), labels
    assert page.problems == []


def test_the_stage_tracker_ignores_late_and_earlier_stages(editor):
    """The module itself, fed the orders the two channels (XHR upload, websocket) really produce."""
    page = editor
    result = page.evaluate("""async () => {
      // The module as editor.js itself loaded it (whatever name the static storage gave it).
      const src = performance.getEntriesByType('resource').map((e) => e.name).find((n) => n.includes('/progress'));
      const { StageTracker } = await import(src);
      const shown = [];
      const t = new StageTracker('uploading', (percent, label) => shown.push([percent, label]));
      t.advance('uploading', 0); t.advance('uploading', 0.5);
      t.advance('received'); t.advance('queued');
      t.advance('uploaded');            // the XHR's upload 'load' after the server's first events
      t.advance('uploading', 1);        // a late progress event
      t.advance('segmenting'); t.advance('refining'); t.advance('queued'); t.advance('compositing');
      t.advance('encoding'); t.advance('done');
      const render = new StageTracker('queued', (percent, label) => shown.push([percent, label]));
      render.advance('queued'); render.advance('compositing'); render.advance('done');
      return shown;
    }""")
    labels = [label for _, label in result]
    assert labels[:2] == ["Uploading… 0%", "Uploading… 50%"]
    assert not any(label.startswith("Uploaded") for label in labels), labels
    upload, render = result[:-3], result[-3:]
    assert [p for p, _ in upload] == sorted(p for p, _ in upload)
    assert [label.split(" (")[0] for _, label in upload[2:]] == [
        "Received", "Queued…", "Finding the subject…", "Refining the edges…", "Compositing…", "Encoding…", "Done"]
    assert render[0][0] == 0 and render[-1] == [100, "Done"] and render[1][0] > 0


def _touchup_open(page):
    page.get_by_test_id("touchup").click()
    _expect(page.get_by_test_id("touchup-dialog")).to_have_attribute("data-ready", "true")


def _canvas_box(page):
    return page.locator("#tu-canvas").bounding_box()


def _space_drag(page, *, start_stroke_first: bool = False) -> None:
    viewport = page.locator("#tu-viewport").bounding_box()
    cx, cy = viewport["x"] + viewport["width"] / 2, viewport["y"] + viewport["height"] / 2
    page.mouse.move(cx, cy)
    if start_stroke_first:
        page.mouse.down()
        page.mouse.move(cx + 30, cy, steps=3)
        page.keyboard.down("Space")
    else:
        page.keyboard.down("Space")
        page.mouse.down()
    page.mouse.move(cx + 130, cy + 40, steps=6)
    page.mouse.up()
    page.keyboard.up("Space")


def test_space_drag_pans_wherever_focus_is_in_touch_up_and_never_paints(editor, tmp_path):
    page = editor
    _process(page, _photo(tmp_path))
    _touchup_open(page)
    dialog = page.get_by_test_id("touchup-dialog")
    zoom = page.get_by_test_id("zoom").text_content()
    focus_on = [
        page.locator("#touchup-dialog [data-close]").first,  # the ✕: where focus is on opening
        page.get_by_test_id("tool-erase"),
        page.get_by_role("button", name="Zoom in"),
        page.get_by_role("button", name="Zoom out"),
        page.get_by_test_id("brush-size"),
    ]
    for control in focus_on:
        control.focus()
        before = _canvas_box(page)
        _space_drag(page)
        after = _canvas_box(page)
        what = control.evaluate("n => n.outerHTML.slice(0, 80)")
        assert (after["x"] - before["x"], after["y"] - before["y"]) == pytest.approx((130, 40), abs=2), what
        _expect(dialog).to_have_attribute("data-strokes", "0")
        _expect(dialog).to_be_visible()  # the ✕ was not clicked by the Space
        assert page.get_by_test_id("zoom").text_content() == zoom, what  # nor + / −
    # Space pressed in the middle of a stroke: the stroke is dropped, the rest of the drag pans.
    page.get_by_role("button", name="Zoom in").focus()
    _space_drag(page, start_stroke_first=True)
    _expect(dialog).to_have_attribute("data-strokes", "0")
    page.get_by_test_id("touchup-apply").click()
    _expect(page.get_by_test_id("stage")).to_have_text("Done")
    assert page.problems == []


def _transitions(page, x: float, y: float, length: int) -> int:
    shot = page.screenshot(clip={"x": x, "y": y, "width": length, "height": 1})
    row = Image.open(io.BytesIO(shot)).convert("L")
    light = [row.getpixel((i, 0)) > 240 for i in range(row.width)]
    return sum(1 for a, b in zip(light, light[1:], strict=False) if a != b)


def test_the_checkerboard_stays_screen_sized_at_400_percent(editor, tmp_path):
    page = editor
    _process(page, _photo(tmp_path))
    _touchup_open(page)
    # Erase the top-left corner for sure, then zoom to 400 % on it.
    page.locator("#tu-size").fill("400")
    page.locator("#tu-hardness").fill("100")
    box = _canvas_box(page)
    scale = box["width"] / SIDE
    page.mouse.move(box["x"] + 20 * scale, box["y"] + 20 * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + 60 * scale, box["y"] + 20 * scale, steps=4)
    page.mouse.up()
    _expect(page.get_by_test_id("touchup-dialog")).to_have_attribute("data-strokes", "1")
    at = (box["x"] + 10 * scale, box["y"] + 10 * scale)
    page.mouse.move(*at)
    for _ in range(14):
        page.mouse.wheel(0, -400)
    _expect(page.get_by_test_id("zoom")).to_have_text("400 %")
    page.mouse.move(5, 5)  # the brush cursor out of the picture
    # 200 screen px across erased pixels: the 20 px CSS checkerboard shows ~9 light/dark changes
    # (drawn into the image at 16 px a square, 400 % made it 64 px squares: at most 4).
    changes = _transitions(page, at[0], at[1] + 20, 200)
    live.ARTIFACTS.mkdir(parents=True, exist_ok=True)  # the window as it is: a full-page shot would re-fit it
    page.screenshot(path=str(live.ARTIFACTS / "editor-touchup-400.png"))
    assert changes >= 8, changes
    assert page.problems == []


def test_discarding_a_recent_image_asks_first(editor, tmp_path):
    from editor.models import EditorJob

    page = editor
    _process(page, _photo(tmp_path))
    item = page.get_by_test_id("recent").locator("[data-job]").first
    job_id = item.get_attribute("data-job")
    page.get_by_role("button", name=re.compile("^Discard astronaut")).click()
    dialog = page.get_by_test_id("discard-dialog")
    _expect(dialog).to_be_visible()
    _expect(dialog).to_contain_text("astronaut.jpg")
    page.get_by_role("button", name="Keep it").click()
    _expect(dialog).to_be_hidden()
    assert EditorJob.objects.filter(pk=job_id).exists()
    _expect(item).to_be_visible()

    page.get_by_role("button", name=re.compile("^Discard astronaut")).click()
    page.keyboard.press("Escape")  # Esc keeps it too
    assert EditorJob.objects.filter(pk=job_id).exists()

    page.get_by_role("button", name=re.compile("^Discard astronaut")).click()
    with page.expect_response(lambda r: r.url.endswith("/delete/")) as deleted:
        page.get_by_test_id("discard-confirm").click()
    assert deleted.value.status == 200
    _expect(page.get_by_test_id("recent").locator("[data-job]")).to_have_count(0)
    assert not EditorJob.objects.filter(pk=job_id).exists()
    assert page.problems == []


def _result_size(page) -> tuple[int, int]:
    text = page.get_by_test_id("result-info").text_content()
    w, h = re.search(r"After: (\d+) × (\d+) px", text).groups()
    return int(w), int(h)


def _predicted(page) -> tuple[int, int]:
    _expect(page.get_by_test_id("output-size")).to_have_text(re.compile(r"Output: \d+ × \d+ px"))
    w, h = re.search(r"(\d+) × (\d+) px", page.get_by_test_id("output-size").text_content()).groups()
    return int(w), int(h)


def test_the_predicted_size_is_the_servers_with_crop_and_rotation(editor, tmp_path):
    page = editor
    page.get_by_label("Crop to the subject").check()
    page.get_by_label("Margin (px or %)").fill("20")
    # Before any result the box is unknown: the page says the size comes after the crop.
    page.set_input_files("#file-input", str(_photo(tmp_path, crop=(0, 0, 640, 480))))
    _expect(page.get_by_test_id("output-size")).to_contain_text("after crop")
    _expect(page.get_by_test_id("stage")).to_have_text("Done", timeout=120_000)
    first = _predicted(page)
    assert first == _result_size(page)
    assert first != (640, 480)

    for angle, margin, width in (("30", "20", ""), ("90", "10%", "300"), ("-17.5", "7", "")):
        page.get_by_label("Angle (°, counter-clockwise)").fill(angle)
        page.get_by_label("Margin (px or %)").fill(margin)
        page.get_by_label("Width").fill(width)
        predicted = _predicted(page)
        _apply_and_wait(page, page.get_by_test_id("apply"))
        assert _result_size(page) == predicted, (angle, margin, width)
    assert page.problems == []


def test_the_compare_view_puts_the_original_through_the_same_crop_and_maps_to_the_image(editor, tmp_path):
    page = editor
    _process(page, _photo(tmp_path, crop=(0, 0, 420, 640)))  # portrait: grey on both sides when fitted
    before, after = page.locator("#img-before"), page.get_by_test_id("result-image")
    stage = page.locator("#stage").bounding_box()
    viewer = page.get_by_test_id("viewer").bounding_box()
    assert stage["width"] < viewer["width"] - 100  # the stage is the picture, not the grey viewer
    assert stage["width"] / stage["height"] == pytest.approx(420 / 640, abs=0.01)

    page.get_by_label("Crop to the subject").check()
    page.get_by_label("Margin (px or %)").fill("10")
    page.get_by_label("Angle (°, counter-clockwise)").fill("20")
    _apply_and_wait(page, page.get_by_test_id("apply"))
    size = _result_size(page)
    _expect(before).to_have_attribute("data-transformed", "true")
    live.wait_until(page, "document.getElementById('img-before').complete")
    assert before.evaluate("i => [i.naturalWidth, i.naturalHeight]") == list(size)
    assert after.evaluate("i => [i.naturalWidth, i.naturalHeight]") == list(size)
    stage = page.locator("#stage").bounding_box()
    assert stage["width"] / stage["height"] == pytest.approx(size[0] / size[1], abs=0.01)

    # The slider spans the picture: 10 % of the slider is 10 % of the image's width.
    page.get_by_test_id("split").fill("10")
    clip = after.evaluate("img => getComputedStyle(img).clipPath")
    assert clip == "inset(0px 0px 0px 10%)"
    page.get_by_test_id("viewer").scroll_into_view_if_needed()  # filling the slider scrolled to it
    stage = page.locator("#stage").bounding_box()
    at = (stage["x"] + stage["width"] * 0.9, stage["y"] + stage["height"] / 2)
    hit = page.evaluate("([x, y]) => { const n = document.elementFromPoint(x, y); return n && (n.id || n.className); }", list(at))
    page.mouse.click(*at)
    assert page.get_by_test_id("split").input_value() == "90", (hit, stage, page.locator("#stage").bounding_box())
    live.screenshot(page, "editor-compare-after-crop.png")
    assert page.problems == []


def _module(page, name: str) -> str:
    """The URL editor.js loaded static/editor/<name>.js from (whatever name the static storage gave it)."""
    return page.evaluate(f"""performance.getEntriesByType('resource').map((e) => e.name)
      .find((n) => /\\/editor\\/{name}[.][^/]*js$/.test(n) || n.endsWith('/editor/{name}.js'))""")


def test_the_size_arithmetic_is_the_servers(editor):
    """sizes.js and subject.js against removal.render.output_size, Pillow's rotate(expand=True)
    and removal.crop.crop_box, on sizes where rounding decides."""
    from removal.crop import crop_box
    from removal.options import RemovalOptions
    from removal.render import output_size

    page = editor
    rotations = [(w, h, a) for w, h in ((692, 600), (580, 500), (601, 433), (1011, 1044), (3, 7))
                 for a in (30, -17.5, 12.3, 45, 1, 359.5, 90, 270, -90)]
    resizes = [(4, 5, 2, None), (5, 4, None, 2), (333, 999, 100, None), (1001, 3, 500, None), (7, 9, 3, 3)]
    crops = [((10, 20, 45, 35), 10, True, (100, 100)), ((10, 20, 45, 35), 5, False, (100, 100)),
             ((0, 0, 5, 25), 50, True, (60, 60)), ((3, 3, 50, 30), 2.5, False, (200, 200))]
    got = page.evaluate("""async ([sizesUrl, subjectUrl, rotations, resizes, crops]) => {
      const { rotatedSize, resizedSize } = await import(sizesUrl);
      const { cropBox } = await import(subjectUrl);
      return {
        rotated: rotations.map(([w, h, a]) => rotatedSize(w, h, a, true)),
        resized: resizes.map(([w, h, rw, rh]) => resizedSize(w, h, { w: rw, h: rh, exact: false })),
        cropped: crops.map(([box, margin, percent, size]) => cropBox(box, { margin, percent }, size)),
      };
    }""", [_module(page, "sizes"), _module(page, "subject"), rotations, resizes, crops])
    assert got["rotated"] == [list(Image.new("L", (w, h)).rotate(a, expand=True).size)
                              if a % 90 else list((h, w) if a % 180 else (w, h)) for w, h, a in rotations]
    assert got["resized"] == [list(output_size((w, h), RemovalOptions(width=rw, height=rh)))
                              for w, h, rw, rh in resizes]
    assert got["cropped"] == [list(crop_box(box=box, margin=m, percent=p, size=size)) for box, m, p, size in crops]


def test_reporting_a_bad_cut_out_asks_for_consent(editor, tmp_path):
    from cutouts.models import Report

    page = editor
    _process(page, _photo(tmp_path))
    page.get_by_test_id("report").click()
    dialog = page.get_by_test_id("report-dialog")
    _expect(dialog).to_contain_text("astronaut.jpg")
    page.get_by_test_id("report-note").fill("the helmet's edge is cut")
    page.get_by_test_id("report-send").click()
    _expect(page.get_by_test_id("report-error")).to_have_text(
        "Tick the box to agree to send this image and its cut-out to the operators.")
    assert not Report.objects.exists()
    assert live.axe_serious(page) == []
    page.get_by_test_id("report-consent").check()
    with page.expect_response(lambda r: r.url.endswith("/report/")) as sent:
        page.get_by_test_id("report-send").click()
    assert sent.value.status == 201
    _expect(dialog).to_be_hidden()
    _expect(page.get_by_test_id("stage")).to_have_text("Report sent to the operators. Thank you.")
    assert Report.objects.get().note == "the helmet's edge is cut"
    assert all("400" in problem for problem in page.problems), page.problems  # the refusal without consent
