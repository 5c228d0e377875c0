"""One-call functions in rembg.js' shape: `remove_background(api_key=..., input_image=..., ...)`.

Each call opens and closes its own connection; for many images use `Client` / `AsyncClient`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from cutout_client.client import AsyncClient, Client
from cutout_client.results import RemovalResult
from cutout_client.upload import InputImage, ProgressCallback


def remove_background(*, input_image: InputImage | None = None, image_url: str | None = None,
                      idempotency_key: str | None = None, api_key: str | None = None, format: str = "webp",
                      w: int | None = 0, h: int | None = 0, exact_resize: bool = False, mask: bool = False,
                      bg_color: str | None = None, angle: float | None = None, expand: bool = True,
                      refine: str | None = None, crop: bool = False, crop_margin: int | str | None = None,
                      model: str | None = None, quality: str | None = None,
                      on_upload_progress: ProgressCallback | None = None,
                      on_download_progress: ProgressCallback | None = None, return_base64: bool = False,
                      output_path: str | os.PathLike | None = None, base_url: str | None = None,
                      **client_options: Any) -> RemovalResult | str:
    """rembg.js' `rembg({...})`, plus `image_url` (instead of `input_image`) and `idempotency_key`.
    Returns a RemovalResult (output_path, cleanup()) or, with `return_base64=True`, the
    `data:image/...;base64,...` URL. `client_options` go to `Client`
    (timeout, max_retries, max_retry_wait, chunk_size, env_file)."""
    with Client(api_key, base_url=base_url, **client_options) as client:
        return client.remove_background(
            input_image, image_url=image_url, idempotency_key=idempotency_key, format=format, w=w, h=h,
            exact_resize=exact_resize, mask=mask, bg_color=bg_color,
            angle=angle, expand=expand, return_base64=return_base64, refine=refine, crop=crop,
            crop_margin=crop_margin, model=model, quality=quality,
            on_upload_progress=on_upload_progress,
            on_download_progress=on_download_progress, output_path=output_path)


async def remove_background_async(
    *, input_image: InputImage | None = None, image_url: str | None = None,
    idempotency_key: str | None = None, api_key: str | None = None, format: str = "webp", w: int | None = 0,
    h: int | None = 0, exact_resize: bool = False, mask: bool = False, bg_color: str | None = None,
    angle: float | None = None, expand: bool = True, refine: str | None = None, crop: bool = False,
    crop_margin: int | str | None = None, model: str | None = None, quality: str | None = None,
    on_upload_progress: ProgressCallback | None = None,
    on_download_progress: ProgressCallback | None = None, return_base64: bool = False,
    output_path: str | os.PathLike | None = None, base_url: str | None = None, **client_options: Any,
) -> RemovalResult | str:
    """`remove_background`, awaited."""
    async with AsyncClient(api_key, base_url=base_url, **client_options) as client:
        return await client.remove_background(
            input_image, image_url=image_url, idempotency_key=idempotency_key, format=format, w=w, h=h,
            exact_resize=exact_resize, mask=mask, bg_color=bg_color,
            angle=angle, expand=expand, return_base64=return_base64, refine=refine, crop=crop,
            crop_margin=crop_margin, model=model, quality=quality,
            on_upload_progress=on_upload_progress,
            on_download_progress=on_download_progress, output_path=output_path)


def membership_usage(*, api_key: str | None = None, year: int | None = None, month: int | None = None,
                     period_start_unix: int | None = None, expand: str | Iterable[str] | None = None,
                     include_billing_cycle: bool = False, list_billing_cycles: bool = False,
                     base_url: str | None = None, **client_options: Any) -> dict:
    """GET /api/membership-usage: plan, balances and usage (every mode of SPEC §3)."""
    with Client(api_key, base_url=base_url, **client_options) as client:
        return client.membership_usage(year=year, month=month, period_start_unix=period_start_unix,
                                       expand=expand, include_billing_cycle=include_billing_cycle,
                                       list_billing_cycles=list_billing_cycles)


async def membership_usage_async(
    *, api_key: str | None = None, year: int | None = None, month: int | None = None,
    period_start_unix: int | None = None, expand: str | Iterable[str] | None = None,
    include_billing_cycle: bool = False, list_billing_cycles: bool = False, base_url: str | None = None,
    **client_options: Any,
) -> dict:
    async with AsyncClient(api_key, base_url=base_url, **client_options) as client:
        return await client.membership_usage(year=year, month=month, period_start_unix=period_start_unix,
                                             expand=expand, include_billing_cycle=include_billing_cycle,
                                             list_billing_cycles=list_billing_cycles)
