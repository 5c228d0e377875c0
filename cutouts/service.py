"""The one charged cut-out, for every caller, and the free re-render of a stored one.

    POST /rmbg, the editor upload, a batch item
        └─ cutout_charged: admission → decode → test-mode size → credit held → pipeline
                           → `keep` (what the caller stores and records) → commit

The callers differ only in where the bytes come from and where the result goes (`keep`). The rule
is the ledger's: **delivered and recorded is charged, anything else is refunded** — `keep` runs
inside the charge, so a result the caller could not store or record is never charged, and a charge
the ledger could not commit raises BillingUnavailable before the caller delivers anything.

`cutout_rerender` is the editor's free re-render of a processed job (no model, no charge), under
the same admission: every render holds its place and pixels until its work is done.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.conf import settings
from PIL import Image

from accounts.services import Caller
from billing.charge import credit_held
from core.errors import processing_failed
from cutouts.test_mode import test_mode_options
from removal import pipeline, pool
from removal.background import background_composite
from removal.decode import LoadedImage
from removal.options import RemovalOptions
from removal.render import Progress
from removal.strokes import Stroke, strokes_apply

T = TypeVar("T")
Cutout = pipeline.Cutout


@dataclass(frozen=True)
class Delivered(Generic[T]):
    cutout: Cutout
    credits: int  # what the run cost once committed (X-Credits-Charged)
    test_mode: bool  # a test key's run: never charged, result within 0.25 MP (SPEC §7)
    kept: T | None  # what `keep` returned


async def cutout_charged(*, caller: Caller, data: bytes, filename: str, options: RemovalOptions, where: str,
                         idempotency_key: str | None = None, progress: Progress = None,
                         keep_mask: bool = False, thumbnail_side: int | None = None,
                         accepted: Callable[[LoadedImage], Awaitable[None]] | None = None,
                         keep: Callable[[Cutout], Awaitable[T]] | None = None) -> Delivered[T]:
    """Cut out `data` for `caller`, charged once (never for a test key or a failure).

    `accepted(image)` runs once the upload passed every check (the editor keeps the original);
    `keep(cutout)` stores and records the result before the charge commits. `where` names the path
    in the error log; `idempotency_key` makes a re-run of the same item charge once.
    """
    async with _failures_logged(where), pipeline.admitted() as ticket:
        # The options let a large JPEG asked for a smaller output decode smaller; a test key's own
        # size cap is decided from the upload's size, so it decodes in full.
        image = await pipeline.image_decode(data, filename, ticket=ticket,
                                            options=None if caller.test_mode else options,
                                            model=settings.REMBG_MODEL)
        if accepted is not None:
            await accepted(image)
        if caller.test_mode:
            options = test_mode_options(size=image.size_uploaded, options=options)
        async with credit_held(caller=caller, where=where, idempotency_key=idempotency_key) as charge:
            cutout = await pipeline.cutout_make(image, options, ticket=ticket, model=settings.REMBG_MODEL,
                                                progress=progress, keep_mask=keep_mask,
                                                thumbnail_side=thumbnail_side)
            kept = await keep(cutout) if keep is not None else None
    return Delivered(cutout=cutout, credits=charge.credits, test_mode=caller.test_mode, kept=kept)


@asynccontextmanager
async def _failures_logged(where: str) -> AsyncIterator[None]:
    """Refusals (domain errors) pass through; anything else is logged once with its traceback and
    becomes ProcessingFailed (a JSON 500). Nothing is charged either way (billing.charge)."""
    try:
        yield
    except Exception as exc:
        error = processing_failed(exc, where=where)
        if error is exc:
            raise
        raise error from exc


@dataclass(frozen=True)
class Touchups:
    """What the editor changes on a stored cut-out before rendering it again."""

    strokes: list[Stroke] = field(default_factory=list)  # erase/restore, applied to the mask in order
    background: bytes | None = None  # an uploaded background image, behind the subject
    background_name: str = ""
    background_fit: str = "fill"


async def cutout_rerender(*, data: bytes, filename: str, mask: Image.Image, options: RemovalOptions,
                          touchups: Touchups = Touchups(), progress: Progress = None,
                          thumbnail_side: int | None = None) -> Cutout:
    """Render a stored original again with its stored full-size `mask` and the editor's touch-ups: no
    model, no charge, but admitted like any cut-out (PoolBusy 503 when full), the background image
    decoded under the same limits and pixel budget as an upload, every step counted on the ticket."""
    async with _failures_logged("editor re-render"), pipeline.admitted() as ticket:
        image = await pipeline.image_decode(data, filename, ticket=ticket)
        if touchups.strokes:
            mask = await pool.cpu_stage(ticket, strokes_apply, mask, touchups.strokes)
        if touchups.background is not None and not options.mask:  # a mask is the subject's alone
            background = await pipeline.image_decode(touchups.background, touchups.background_name,
                                                     ticket=ticket)
            image, mask = await pool.cpu_stage(ticket, _background_put, image, mask, background,
                                               touchups.background_fit)
        return await pipeline.cutout_make(image, options, ticket=ticket, model=settings.REMBG_MODEL,
                                          progress=progress, mask=mask, thumbnail_side=thumbnail_side)


def _background_put(image: LoadedImage, mask: Image.Image, background: LoadedImage,
                    fit: str) -> tuple[LoadedImage, Image.Image]:
    composite, alpha = background_composite(image.take(), mask, background.take(), fit)
    kept = LoadedImage(image=composite, source_format=image.source_format, icc_profile=image.icc_profile)
    return kept, alpha
