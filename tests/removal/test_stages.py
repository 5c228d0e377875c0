"""removal.pipeline's one path on removal.pool's stages: overlap, admission, one function for all."""

import asyncio
import io
import threading
import time

import numpy as np
import pytest
from PIL import Image

from removal import pipeline, pool, segment
from removal.errors import ImageRejected, PoolBusy
from removal.options import options_parse

from .conftest import decode, encode


@pytest.fixture
def stages(monkeypatch):
    """Fresh stage executors and admission, built from the environment the test sets first."""
    monkeypatch.setattr(pool, "_stages", None)

    def build(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        return pool.stages_get()

    yield build
    if pool._stages is not None:
        pool._stages.shutdown()


@pytest.fixture
def intervals(monkeypatch):
    """(stage, start, end) of every inference and every render, from spies that run the real thing."""
    from removal import render

    seen: list[tuple[str, float, float]] = []

    def spy(stage, real):
        def run(*args, **kwargs):
            start = time.monotonic()
            try:
                return real(*args, **kwargs)
            finally:
                seen.append((stage, start, time.monotonic()))
        return run

    monkeypatch.setattr(segment, "model_run", spy("model", segment.model_run))
    monkeypatch.setattr(pipeline, "render_take", spy("render", render.render_take))
    return seen


async def _cutout(data: bytes, name: str = "photo.jpg", *, model: str = segment.DEFAULT_MODEL,
                  options=None, **fields):
    options = options or options_parse({k: str(v) for k, v in fields.items()})
    async with pipeline.admitted() as ticket:
        image = await pipeline.image_decode(data, name, ticket=ticket)
        return await pipeline.cutout_make(image, options, ticket=ticket, model=model)


def _overlaps(a: tuple[str, float, float], b: tuple[str, float, float]) -> bool:
    return a[1] < b[2] and b[1] < a[2]


async def test_it_renders_one_request_while_the_model_runs_another(stages, intervals, chelsea):
    stages(PIPELINE_WORKERS=1, ONNX_INTRA_OP_THREADS=2, PIPELINE_CPU_WORKERS=2)
    data = encode(chelsea.resize((1800, 1200)), "JPEG", quality=90)
    results = await asyncio.gather(*(_cutout(data, format="png") for _ in range(3)))
    assert all(r.result.format == "png" for r in results)
    models = [i for i in intervals if i[0] == "model"]
    renders = [i for i in intervals if i[0] == "render"]
    assert len(models) == len(renders) == 3
    assert any(_overlaps(m, r) for m in models for r in renders)  # the stages overlap
    assert not any(_overlaps(a, b) for a in models for b in models if a is not b)  # one inference at a time


@pytest.fixture
def model_gate(monkeypatch):
    """Holds every inference until released (the real model then runs)."""
    gate, entered = threading.Event(), threading.Event()
    real = segment.model_run

    def gated(*args, **kwargs):
        entered.set()
        gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(segment, "model_run", gated)
    yield gate, entered
    gate.set()


async def test_it_refuses_with_503_past_the_queue_limit_before_any_work(stages, model_gate, chelsea_jpeg,
                                                                         monkeypatch):
    stages(PIPELINE_QUEUE_LIMIT=2)
    gate, entered = model_gate
    decoded = []
    real_pixels = pipeline.image_pixels
    monkeypatch.setattr(pipeline, "image_pixels",
                        lambda header, **kw: decoded.append(1) or real_pixels(header, **kw))
    first = asyncio.ensure_future(_cutout(chelsea_jpeg))
    second = asyncio.ensure_future(_cutout(chelsea_jpeg))
    await asyncio.to_thread(entered.wait, 30)
    with pytest.raises(PoolBusy) as caught:
        await _cutout(chelsea_jpeg, "third.jpg")
    assert caught.value.status == 503 and caught.value.headers["Retry-After"]
    assert len(decoded) == 2  # the refused request decoded nothing
    assert pool.pool_stats().running + pool.pool_stats().queued >= 2
    gate.set()
    assert [r.result.format for r in await asyncio.gather(first, second)] == ["webp", "webp"]
    assert (await _cutout(chelsea_jpeg)).result.format == "webp"  # room again
    assert pool.stages_get().admission.tickets == 0 and pool.stages_get().admission.pixels == 0


async def test_it_gives_the_place_back_when_the_request_ends_after_decoding(stages, chelsea_jpeg):
    """A request refused after decoding (say a 429 from the charge) gives its place and pixels back
    when its admission block ends: not when the garbage collector finds the decoded image."""
    admission = stages(PIPELINE_QUEUE_LIMIT=1).admission
    kept = []
    with pytest.raises(RuntimeError):
        async with pipeline.admitted() as ticket:
            kept.append(await pipeline.image_decode(chelsea_jpeg, "c.jpg", ticket=ticket))
            with pytest.raises(PoolBusy):
                async with pipeline.admitted():
                    pass
            raise RuntimeError("no credits left")
    assert kept[0].image is not None  # still referenced, yet its place is free
    assert admission.tickets == 0 and admission.pixels == 0
    assert (await _cutout(chelsea_jpeg)).result.format == "webp"


async def test_it_counts_a_cancelled_requests_pixels_until_its_work_has_finished(stages, chelsea_jpeg,
                                                                                monkeypatch):
    """A client that goes away cancels its request, but a decode already running on the executor
    still holds its memory: the pixels stay counted until that work is done."""
    admission = stages().admission
    started, gate = threading.Event(), threading.Event()
    real_pixels = pipeline.image_pixels

    def slow_pixels(header, **kw):
        started.set()
        gate.wait(30)
        return real_pixels(header, **kw)

    monkeypatch.setattr(pipeline, "image_pixels", slow_pixels)
    request = asyncio.ensure_future(_cutout(chelsea_jpeg))
    await asyncio.to_thread(started.wait, 30)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert admission.tickets == 1 and admission.pixels > 0  # the decode still runs: still counted
    gate.set()
    for _ in range(200):
        if admission.tickets == 0:
            break
        await asyncio.sleep(0.01)
    assert admission.tickets == 0 and admission.pixels == 0


async def test_it_releases_admission_when_the_upload_is_refused(stages):
    admission = stages(PIPELINE_QUEUE_LIMIT=1).admission
    for _ in range(3):
        with pytest.raises(ImageRejected) as caught:
            await _cutout(b"not an image", "x.png")
        assert caught.value.__cause__ is not caught.value  # our refusal is raised as it is
    assert admission.tickets == 0 and admission.pixels == 0


def _big_photo(coffee, astronaut) -> bytes:
    tiles = [coffee.resize((2000, 1500)), astronaut.resize((2000, 1500))]
    canvas = Image.new("RGB", (4000, 3000))
    for i, tile in enumerate(tiles * 2):
        canvas.paste(tile, ((i % 2) * 2000, (i // 2) * 1500))
    return encode(canvas, "JPEG", quality=90)


async def test_it_lets_small_images_overtake_a_big_one_waiting_for_pixels(stages, coffee, astronaut, monkeypatch):
    """Budget 4 MP (one image holds at most 3): two 12 MP images cannot be in flight together;
    small ones keep finishing while the first big one runs and the second waits."""
    admission = stages(PIPELINE_PIXEL_BUDGET=4_000_000, PIPELINE_CPU_WORKERS=2).admission
    held: list[int] = []
    real_grant = admission.grant

    def grant():
        real_grant()
        held.append(admission.pixels)

    monkeypatch.setattr(admission, "grant", grant)
    big, small = _big_photo(coffee, astronaut), encode(coffee, "JPEG", quality=90)
    finished: list[str] = []

    async def run(name: str, data: bytes) -> None:
        await _cutout(data, f"{name}.jpg")
        finished.append(name)

    big1 = asyncio.ensure_future(run("big1", big))
    await asyncio.sleep(0.05)
    big2 = asyncio.ensure_future(run("big2", big))
    await asyncio.sleep(0.05)
    assert len(admission.waiting) == 1  # big2 waits for pixels, it is not refused
    await asyncio.gather(*(run(f"small{i}", small) for i in range(2)), big1, big2)
    assert finished.index("small0") < finished.index("big2") and finished.index("small1") < finished.index("big2")
    assert max(held) <= 4_000_000
    assert admission.pixels == admission.tickets == 0


async def test_it_keeps_the_full_size_mask_and_re_renders_from_it_without_the_model(stages, intervals,
                                                                                      chelsea_jpeg, chelsea):
    options = options_parse({"w": "200", "format": "png"})
    async with pipeline.admitted() as ticket:
        image = await pipeline.image_decode(chelsea_jpeg, "c.jpg", ticket=ticket)
        first = await pipeline.cutout_make(image, options, ticket=ticket, model="u2netp", keep_mask=True,
                                           thumbnail_side=64)
    assert first.mask.mode == "L" and first.mask.size == chelsea.size  # full size, for the editor
    assert (first.result.width, first.result.height) == (200, 133)
    assert decode(first.thumbnail.data).size == (64, 43) and first.thumbnail.format == "webp"
    assert image.image is None  # ownership was taken
    models = len([i for i in intervals if i[0] == "model"])
    async with pipeline.admitted() as ticket:
        again = await pipeline.cutout_make(await pipeline.image_decode(chelsea_jpeg, "c.jpg", ticket=ticket),
                                           options, ticket=ticket, model="u2netp", mask=first.mask)
    assert len([i for i in intervals if i[0] == "model"]) == models  # the stored mask: no inference
    assert again.mask is None and again.thumbnail is None
    assert np.array_equal(np.asarray(decode(again.result.data)), np.asarray(decode(first.result.data)))


async def test_it_is_the_same_path_as_the_sync_call(stages, chelsea_jpeg):
    options = options_parse({"format": "png", "bg_color": "#0af8"})
    made = await _cutout(chelsea_jpeg, "c.jpg", options=options)
    synced = await asyncio.to_thread(pipeline.remove_background, chelsea_jpeg, "c.jpg", options)
    assert made.result.data == synced.data


@pytest.mark.parametrize("angle", [90, 30])
def test_it_rotates_a_cutout_on_the_plane_path_like_the_rgba_path(chelsea_jpeg, angle):
    from removal import render
    from removal.decode import image_load

    options = options_parse({"angle": str(angle)})
    loaded = image_load(chelsea_jpeg, "c.jpg")
    rgba = decode(render.render(loaded, pipeline.mask_compute(loaded), options).data)  # Pillow's RGBA encoder
    result = pipeline.remove_background(chelsea_jpeg, "c.jpg", options)
    planes = decode(result.data)
    assert b"ALPH" in result.data[:200] and planes.size == rgba.size
    alpha_a, alpha_b = (np.asarray(i.getchannel("A"), dtype=float) for i in (planes, rgba))
    assert np.abs(alpha_a - alpha_b).mean() < 1.5  # the plane path's alpha is lossless, RGBA's near-lossless


def test_it_encodes_a_large_cutout_one_plane_after_the_other_into_the_same_bytes(monkeypatch, chelsea_jpeg):
    """Below LARGE_IMAGE_PIXELS colour and alpha are encoded side by side, above it one after the
    other (memory): the same file either way. (The fallback path, where libwebp cannot be loaded
    through ctypes: removal.webp otherwise.)"""
    from removal import encode, render, webp

    monkeypatch.setattr(webp, "_lib", None)
    sides = []
    real = encode.webp_encode_planes
    monkeypatch.setattr(render, "webp_encode_planes",
                        lambda planes, **kw: sides.append(kw["side_by_side"]) or real(planes, **kw))
    options = options_parse({"angle": "30"})
    small = pipeline.remove_background(chelsea_jpeg, "c.jpg", options)
    monkeypatch.setattr(render, "LARGE_IMAGE_PIXELS", 10_000)
    large = pipeline.remove_background(chelsea_jpeg, "c.jpg", options)
    assert sides == [True, False]
    assert large.data == small.data


def _constant_model(path) -> None:
    """A tiny U²-Net-shaped ONNX model (1×3×320×320 → 1×1×320×320) whose output ignores the
    picture: 1 on the left half, 0 on the right."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    left = np.zeros((1, 1, 320, 320), dtype=np.float32)
    left[..., :160] = 1.0
    nodes = [
        helper.make_node("ReduceMean", ["input.1"], ["mean"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "left"], ["d0"]),
    ]
    graph = helper.make_graph(
        nodes, "constant_mask",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 320, 320])],
        [helper.make_tensor_value_info("d0", TensorProto.FLOAT, [1, 1, 320, 320])],
        [numpy_helper.from_array(np.zeros(1, dtype=np.float32), "zero"), numpy_helper.from_array(left, "left")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))


async def test_it_uses_the_model_it_is_given(stages, monkeypatch, tmp_path, chelsea_jpeg):
    import shutil

    from .conftest import MODEL_HOME

    shutil.copy(MODEL_HOME / "u2netp.onnx", tmp_path / "u2netp.onnx")
    _constant_model(tmp_path / "u2net.onnx")
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))
    monkeypatch.setattr(segment, "_sessions", {})
    options = options_parse({"mask": "true", "format": "png"})
    masks = {}
    for model in ("u2net", "u2netp"):
        made = await _cutout(chelsea_jpeg, "c.jpg", model=model, options=options)
        masks[model] = np.asarray(decode(made.result.data))
    width = masks["u2net"].shape[1]
    assert masks["u2net"][:, : width // 2 - 10].min() == 255 and masks["u2net"][:, width // 2 + 10 :].max() == 0
    assert 0 < (masks["u2netp"] > 127).mean() < 0.9  # the real model: a cat, not half the picture
    assert sorted(segment._sessions) == ["u2net", "u2netp"]
    assert segment.session_get("u2net").model_path == tmp_path / "u2net.onnx"


async def test_it_runs_a_second_inference_single_threaded_beside_the_first(stages, intervals, chelsea, monkeypatch):
    stages(PIPELINE_WORKERS=1, ONNX_INTRA_OP_THREADS=2, PIPELINE_MODEL_SLOTS=2)
    picked = []
    real_get = segment.session_get
    monkeypatch.setattr(segment, "session_get", lambda name, threads=None: picked.append(threads) or real_get(name, threads=threads))
    data = encode(chelsea.resize((1800, 1200)), "JPEG", quality=90)
    await _cutout(data)
    assert picked == [None]  # alone: the session with every onnxruntime thread
    picked.clear()
    await asyncio.gather(*(_cutout(data) for _ in range(3)))
    models = [i for i in intervals if i[0] == "model"]
    if any(_overlaps(a, b) for a in models for b in models if a is not b):
        assert 1 in picked  # the one that started beside another ran single-threaded
    assert segment._running == 0


@pytest.fixture(scope="module")
def palette_pngs() -> tuple[bytes, bytes]:
    """A 16.8 MP opaque palette PNG (a flat background, a few shapes) and its pixels as RGB."""
    from PIL import ImageDraw

    image = Image.new("P", (4096, 4100), 0)
    image.putpalette([235, 235, 240, 200, 40, 30, 30, 60, 200, 250, 200, 20] + [0] * 756)
    draw = ImageDraw.Draw(image)
    draw.ellipse((1200, 800, 2900, 3600), fill=1)
    draw.rectangle((1500, 1200, 2500, 2000), fill=2)
    draw.ellipse((1800, 2400, 2300, 3000), fill=3)
    return encode(image, "PNG"), encode(image.convert("RGB"), "PNG")


async def test_a_large_palette_upload_is_kept_as_a_palette_for_the_cutout_only(stages, palette_pngs):
    """1 byte a pixel instead of RGB's 4 (a 100 MP palette PNG held 400 MB more through the encode):
    for cut-outs (the options given), from LARGE_IMAGE_PIXELS on, and only without transparency."""
    palette, _ = palette_pngs
    transparent = Image.open(io.BytesIO(palette))
    transparent.info["transparency"] = 0
    async with pipeline.admitted() as ticket:
        kept = await pipeline.image_decode(palette, "p.png", ticket=ticket, options=options_parse({}))
        plain = await pipeline.image_decode(palette, "p.png", ticket=ticket)  # a test key's, a re-render
        see_through = await pipeline.image_decode(encode(transparent, "PNG"), "t.png", ticket=ticket,
                                                  options=options_parse({}))
    assert (kept.image.mode, plain.image.mode, see_through.image.mode) == ("P", "RGB", "RGBA")


@pytest.mark.parametrize("query", ["", "format=png", "angle=30", "w=1000", "crop=true", "bg_color=%23336699"])
def test_a_large_palette_upload_comes_out_as_its_rgb_would(palette_pngs, query):
    """Whatever the options, the bytes of the same pixels uploaded as RGB: a plain cut-out expands
    the palette strip by strip as it encodes, anything else expands it first."""
    from urllib.parse import parse_qsl

    options = options_parse(dict(parse_qsl(query)))
    palette, rgb = palette_pngs
    ours = pipeline.remove_background(palette, "p.png", options)
    theirs = pipeline.remove_background(rgb, "r.png", options)
    assert (ours.width, ours.height) == (theirs.width, theirs.height) and ours.data == theirs.data
