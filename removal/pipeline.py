"""THE path from upload bytes to output bytes, for every caller (API, editor, CLI, benchmarks):

    async with admitted() as ticket:  # PoolBusy at once when the queue is full
        image = await image_decode(data, filename, ticket=ticket)  # checks, pixels (cpu stage)
        cutout = await cutout_make(image, options, ticket=ticket, model=…)
        # preprocess (cpu) → inference (model) → upscale, composite, encode (cpu)

Each step runs on removal.pool's stage executors, so one request's decoding and encoding
overlap another's inference. Admission (queue length, pixels in flight) is decided before any
work and held until the request's last piece of work has finished. `remove_background` is the
same path for synchronous callers.
"""

import asyncio
import gc
from dataclasses import dataclass, replace

from PIL import Image

from removal import pool, segment
from removal.decode import DRAFT_MIN_SIDE, LoadedImage, image_pixels, image_probe, jpeg_upright_size
from removal.errors import ImageRejected
from removal.options import RemovalOptions
from removal.pool import admitted
from removal.render import Progress, RenderResult, compose, finish, heap_trim, output_size, render_take
from removal.render import render as render  # the half for callers not yet on cutout_make
from removal.segment import DEFAULT_MODEL, LARGE_IMAGE_PIXELS, mask_predict
from removal.subject import Box, subject_box, subject_prepare, subject_steps_needed
from removal.zoom import zoom_area, zoom_merge

__all__ = ["Cutout", "RenderResult", "admitted", "cutout_from_bytes", "cutout_make", "heap_trim",
           "image_decode", "mask_compute", "remove_background", "render"]


@dataclass(frozen=True)
class Cutout:
    result: RenderResult  # the encoded output for `options`
    mask: Image.Image | None = None  # the FULL-SIZE mask ("L"), only when keep_mask=True
    thumbnail: RenderResult | None = None  # a small WEBP of the same render, when thumbnail_side is given
    refine: str | None = None  # SPEC §7: what refinement did, when asked ("matting"|"reduced"|"skipped")
    refine_reason: str | None = None  # why it skipped (X-Refine-Reason)
    foreground: Box | None = None  # the subject's box in input pixels; None when there is none


async def image_decode(data: bytes, filename: str, *, ticket: pool.Ticket,
                       options: RemovalOptions | None = None, model: str = DEFAULT_MODEL) -> LoadedImage:
    """Validate + decode (SPEC's checks, removal.decode.image_load) on the pipeline's CPU stage, the
    pixels held on `ticket` (from `pool.admitted()`). With the `options` the image will be rendered
    for (and the `model` cutout_make will be given), a large JPEG asked for a smaller output is
    decoded smaller (removal.decode.DRAFT_MIN_SIDE), and one decoded in full gets the U²-Net
    family's input from a draft beside it (_input_draft_fits).
    Raises ImageRejected; anything unexpected propagates as itself (the caller logs it)."""
    header = image_probe(data, filename)  # header only: cheap, and refusals come first
    if header.width * header.height >= LARGE_IMAGE_PIXELS:
        _memory_reclaim()
    await ticket.pixels_wait(header.width * header.height)
    at_least = _draft_size(header, options)
    if options is None or at_least is not None or not segment.u2net_input_serves(options.model or model) \
            or not _input_draft_fits(header):
        # A large palette upload stays "P" for cutout_make, which expands it where it must.
        keep_palette = options is not None and header.width * header.height >= LARGE_IMAGE_PIXELS
        return await pool.cpu_stage(ticket, image_pixels, header, at_least=at_least,
                                     keep_palette=keep_palette)
    image, prepared = await asyncio.gather(pool.cpu_stage(ticket, image_pixels, header),
                                           pool.cpu_stage(ticket, _input_drafted, data, filename))
    image.model_input = prepared
    return image


def _input_draft_fits(header) -> bool:
    """A JPEG of LARGE_IMAGE_PIXELS or more, decoded in full, whose half-size draft still keeps
    DRAFT_MIN_SIDE: the model's input is then made from that draft, decoded on the other core while
    this one decodes the pixels (a decode is one thread). 48 MP mosaic, bench/pipeline.py: the
    decode 220 ms, and the input after it 124 ms, now beside it (draft 110 ms + its input ~60 ms);
    its mask, like a draft's for a smaller output, keeps the IoU bar (tests/removal/test_draft.py)."""
    large = header.width * header.height >= LARGE_IMAGE_PIXELS and min(header.size) >= 2 * DRAFT_MIN_SIDE
    return large and jpeg_upright_size(header) is not None  # the size first: no EXIF parse per photo


def _input_drafted(data: bytes, filename: str):
    """The U²-Net family's input from the smallest draft DRAFT_MIN_SIDE allows; None when the draft
    fails where the full decode may not (the input is then made from the full decode, as before)."""
    try:
        draft = image_pixels(image_probe(data, filename), at_least=(1, 1))
    except ImageRejected:
        return None
    return segment.model_input(draft.take(), prereduced=True).data


def _memory_reclaim() -> None:
    """Before a large image: free what earlier requests left in reference cycles, and give the freed
    heap back. A server's garbage (requests, responses, the upload and the result they hold) waits
    for a full collection that allocation counts rarely trigger: over bench/large.py's combos its
    RSS before a 48 MP request crept 390 → 720 MiB, and each request's peak with it. And the
    model's activations that small photos keep: a 100 MP palette PNG after a 12 MP photo peaked at
    1068 MiB, its decode (palette + RGB, 500 MB) stacked on them."""
    gc.collect()
    segment.sessions_memory_release()
    heap_trim()


def _draft_size(header, options: RemovalOptions | None) -> tuple[int, int] | None:
    """The output size when a smaller decode may serve it: not for refine or crop, which work on
    the full-size image and mask, nor for an output as large as the upload."""
    if options is None or subject_steps_needed(options):
        return None
    uploaded = jpeg_upright_size(header)  # only a JPEG can be decoded smaller
    if uploaded is None:
        return None
    size = output_size(uploaded, options)
    return size if size[0] < uploaded[0] and size[1] < uploaded[1] else None


async def _mask_make(ticket: pool.Ticket, source: Image.Image, size: tuple[int, int], *, model: str,
                     prereduced: bool = False, drafted_input=None) -> Image.Image:
    """Preprocess on the cpu stage (unless image_decode made the input from a draft), infer on the
    model stage, upscale to `size` on the cpu stage."""
    if drafted_input is not None and segment.u2net_input_serves(model):
        prepared = segment.ModelInput(model=model, data=drafted_input, pixels=source.width * source.height)
    else:
        prepared = await pool.cpu_stage(ticket, segment.model_input, source, model=model,
                                        prereduced=prereduced)
    prediction = await pool.model_stage(ticket, segment.model_run, prepared)
    del prepared
    return await pool.cpu_stage(ticket, segment.mask_resize, prediction, size)


def _thumbnail_render(source: Image.Image, mask: Image.Image, options: RemovalOptions, *, side: int,
                      icc_profile: bytes | None) -> RenderResult:
    """The same render as a WEBP that fits side×side (never enlarged), from the full-size inputs."""
    small = max(source.size) > side
    thumb_options = replace(options, width=side if small else None, height=side if small else None,
                            exact_resize=False, format="webp")
    out, fill = compose(source, mask, thumb_options)
    return finish(out, fill, thumb_options, icc_profile=icc_profile)


async def _cutout(image: LoadedImage, ticket: pool.Ticket, options: RemovalOptions, *, model: str,
                  progress: Progress, mask: Image.Image | None, keep_mask: bool,
                  thumbnail_side: int | None) -> Cutout:
    icc_profile = image.icc_profile
    # A JPEG draft decodes smaller than the upload (never with refine or crop, see _draft_size):
    # sizes and boxes are then measured on the upload, not on the decoded pixels.
    drafted = image.original_size is not None
    uploaded = image.size_uploaded
    drafted_input = image.model_input
    source = image.take()
    size = output_size(uploaded, options)
    ticket.pixels_add(size[0] * size[1])  # an output bigger than the upload holds more memory
    subject_steps = subject_steps_needed(options)  # refine / crop work on the full-size mask
    if source.mode == "P" and (subject_steps or thumbnail_side):
        source = source.convert("RGB")  # refine, crop and the thumbnail work on RGB; render_take need not
    if mask is None:
        if progress:
            progress("segmenting")
        # Otherwise the mask is made at the output size: no full-size mask for a small result.
        full = keep_mask or subject_steps
        mask = await _mask_make(ticket, source, source.size if full else size, model=options.model or model,
                                prereduced=drafted, drafted_input=drafted_input)
        area = await pool.cpu_stage(ticket, zoom_area, mask) if options.quality == "high" else None
        if area:  # quality=high: a second pass on the subject's box, averaged in (removal.zoom)
            second = await _mask_make(ticket, source.crop(area), (area[2] - area[0], area[3] - area[1]),
                                      model=options.model or model)
            mask = await pool.cpu_stage(ticket, zoom_merge, mask, second, area)
    kept = mask if keep_mask else None
    refine = refine_reason = None
    if subject_steps:
        if progress and options.refine != "none":
            progress("refining")
        subject = await pool.cpu_stage(ticket, subject_prepare, source=source, mask=mask, options=options)
        source, mask, refine, foreground = subject.source, subject.mask, subject.refine, subject.foreground
        refine_reason = subject.refine_reason
    else:
        foreground = await pool.cpu_stage(ticket, subject_box, source, mask, size=uploaded)
    if progress:
        progress("compositing")
    thumbnail = None
    if thumbnail_side:
        thumbnail = await pool.cpu_stage(ticket, _thumbnail_render, source, mask, options,
                                         side=thumbnail_side, icc_profile=icc_profile)
    planes = [source, mask]
    del source, mask  # render_take frees each plane as soon as it is encoded
    result = await pool.cpu_stage(ticket, render_take, planes, options, icc_profile=icc_profile,
                                  progress=progress,
                                  size=size if drafted else None)  # else: of the (maybe cropped) source
    return Cutout(result=result, mask=kept, thumbnail=thumbnail, refine=refine, refine_reason=refine_reason,
                  foreground=foreground)


async def cutout_make(image: LoadedImage, options: RemovalOptions, *, ticket: pool.Ticket, model: str,
                      progress: Progress = None, mask: Image.Image | None = None,
                      keep_mask: bool = False, thumbnail_side: int | None = None) -> Cutout:
    """THE path from a decoded image to output bytes: segment (skipped when a stored `mask` is given:
    the editor's free re-render) → render → encode, on the staged executors, counted on `ticket`.
    Takes ownership of `image` (may free it). Progress stages: "segmenting", "refining" (refine
    asked), "compositing", "encoding"."""
    return await _cutout(image, ticket, options, model=model, progress=progress, mask=mask,
                         keep_mask=keep_mask, thumbnail_side=thumbnail_side)


def remove_background(data: bytes, filename: str, options: RemovalOptions, *, model: str = DEFAULT_MODEL,
                      progress: Progress = None) -> RenderResult:
    """Sync convenience for the CLI and benchmarks: runs image_decode + cutout_make (asyncio.run)."""
    return cutout_from_bytes(data, filename, options, model=model, progress=progress).result


def cutout_from_bytes(data: bytes, filename: str, options: RemovalOptions, *, model: str = DEFAULT_MODEL,
                      progress: Progress = None) -> Cutout:
    """The same, keeping what the subject step found (bench/quality.py, tests)."""

    async def run() -> Cutout:
        if progress:
            progress("decoding")
        async with pool.admitted() as ticket:
            image = await image_decode(data, filename, ticket=ticket, options=options, model=model)
            return await cutout_make(image, options, ticket=ticket, model=model, progress=progress)

    return asyncio.run(run())


# --- the halves, for callers not yet on cutout_make (they bypass admission and the stages) -----


def mask_compute(image: LoadedImage, *, progress: Progress = None, size: tuple[int, int] | None = None,
                 model: str = DEFAULT_MODEL) -> Image.Image:
    """Run the model in this thread: the foreground mask ("L"), at the image's size unless `size`."""
    if progress:
        progress("segmenting")
    return mask_predict(image.image, size or image.image.size, model=model)


def warm_up_imports(model: str = DEFAULT_MODEL) -> None:
    """Import everything warm_up imports, on the caller's thread, so that warm_up on another one
    imports nothing (config.startup runs it beside Django's imports: two threads importing one
    package by different paths can deadlock in importlib, see removal.jit.solver_importing).
    tests/foundation/test_startup.py checks that nothing is left."""
    import concurrent.futures.thread  # noqa: F401 - concurrent.futures imports it lazily

    import numpy.ctypeslib  # noqa: F401 - removal.webp's planes; numpy imports it lazily

    import removal.encode  # noqa: F401
    import removal.options  # noqa: F401

    segment.session_imports(model)
    Image.init()  # Pillow imports its format plugins at the first open or save


def warm_up(model: str = DEFAULT_MODEL) -> None:
    """Load the model, send a photo-sized PNG through every stage and render a small WEBP from its
    mask, so the first request pays no start-up cost (session, threads, arenas, codecs, its first
    large buffers). Safe to call from a running event loop (it runs in its own thread)."""
    from concurrent.futures import ThreadPoolExecutor

    from removal.decode import image_load
    from removal.encode import image_encode
    from removal.options import options_parse

    pixels = Image.merge("RGB", [Image.radial_gradient("L"), Image.linear_gradient("L"),
                                 Image.effect_noise((256, 256), 40)])

    def run() -> None:
        # Photo-sized: after a 640x480 warm-up the first 1.5 MP request took 1.6x the next one
        # in-process (issue 28; large buffers allocated for the first time), after this ~1.0x.
        photo = image_encode(pixels.resize((1200, 1600)), "png")
        remove_background(photo, "warm-up.png", options_parse({"format": "png"}), model=model)
        # The WEBP encoders (removal.webp, removal.alpha) without a second inference: the model is
        # warm, and its ~0.3 CPU-seconds count twice at a start (issue 28's warm start).
        small = image_load(image_encode(pixels.resize((640, 480)), "png"), "warm-up.png")
        render(small, pixels.convert("L").resize((640, 480)), options_parse({"format": "webp"}))

    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(run).result()
