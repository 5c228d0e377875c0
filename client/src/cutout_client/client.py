"""`Client` and `AsyncClient`: one connection pool, timeouts and retries around the endpoints
(`Client` also submits and follows batch jobs: `jobs_submit`, `jobs_get`, `jobs_wait`).

Retries: a 429 that carries `Retry-After` (the short-term rate limit) and a 503 are retried after
the server's Retry-After (or an exponential backoff for a 503 without one), at most `max_retries`
times and never waiting longer than `max_retry_wait` seconds at once. A 429 without Retry-After
(monthly credits used up) or with a long one (the anonymous daily limit) is raised at once, as
are connection failures after their retries. Nothing is charged for a refused request, so
resending the image is safe.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

from cutout_client import __version__
from cutout_client.config import api_key_resolve, base_url_resolve
from cutout_client.errors import (
    ConfigurationError,
    CutoutError,
    NetworkError,
    error_from_response,
    retry_after_parse,
)
from cutout_client.results import RemovalResult, ResponseSink
from cutout_client.upload import InputImage, MultipartBody, ProgressCallback, form_fields, image_source

DEFAULT_TIMEOUT = 120.0  # seconds; a large image on a busy CPU server takes a while
DEFAULT_CHUNK_SIZE = 64 * 1024
_RETRIABLE_TRANSPORT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    max_retry_wait: float = 60.0
    backoff: float = 0.5  # first wait for a 503 without Retry-After or a refused connection; doubles

    def delay(self, attempt: int, error: CutoutError | None) -> float | None:
        """Seconds to wait before retry number `attempt + 1`, or None to give up."""
        if attempt >= self.max_retries:
            return None
        fallback = min(self.backoff * (2 ** attempt), self.max_retry_wait)
        if error is None:  # the connection was refused or timed out before anything was sent
            return fallback
        if error.status not in (429, 503):
            return None
        retry_after = retry_after_parse(error.headers.get("retry-after"))
        if retry_after is None:
            return fallback if error.status == 503 else None
        return retry_after if retry_after <= self.max_retry_wait else None


def _timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None)
    return httpx.Timeout(timeout, connect=min(10.0, timeout))


def _usage_params(*, year: int | None, month: int | None, period_start_unix: int | None,
                  expand: str | Iterable[str] | None, include_billing_cycle: bool,
                  list_billing_cycles: bool) -> dict[str, str]:
    if list_billing_cycles:
        return {"listBillingCycles": "1"}
    params: dict[str, str] = {}
    if year is not None:
        params["year"] = str(year)
    if month is not None:
        params["month"] = str(month)
    if period_start_unix is not None:
        params["periodStartUnix"] = str(period_start_unix)
    if expand:
        params["expand"] = expand if isinstance(expand, str) else ",".join(expand)
    if include_billing_cycle:
        params["includeBillingCycle"] = "1"
    return params


class _Base:
    def __init__(self, api_key: str | None = None, *, base_url: str | None = None,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT, max_retries: int = 3,
                 max_retry_wait: float = 60.0, chunk_size: int = DEFAULT_CHUNK_SIZE,
                 env_file: str | os.PathLike | None = None, max_connections: int = 10):
        self.api_key = api_key_resolve(api_key, env_file=env_file)
        self.base_url = base_url_resolve(base_url, env_file=env_file)
        self.retry = RetryPolicy(max_retries=max_retries, max_retry_wait=max_retry_wait)
        self.chunk_size = chunk_size
        # Sent with every request rather than set on the httpx client, so a caller's own
        # `http_client=` (proxies, event hooks, transports) works unchanged.
        self._headers = {"x-api-key": self.api_key, "User-Agent": f"cutout-client/{__version__}"}
        self._http_options: dict[str, Any] = {
            "timeout": _timeout(timeout),
            "limits": httpx.Limits(max_connections=max_connections,
                                   max_keepalive_connections=max_connections),
        }

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _removal_body(self, input_image: InputImage | None, image_url: str | None,
                      options: Mapping[str, Any]) -> MultipartBody:
        """The form: the image part, or an `image_url` field for the server to download."""
        if (input_image is None) == (image_url is None):
            raise ConfigurationError("pass either input_image or image_url, not both")
        if image_url is not None:
            return MultipartBody(None, [("image_url", image_url), *form_fields(**options)])
        return MultipartBody(image_source(input_image), form_fields(**options))

    def _removal_headers(self, body: MultipartBody, idempotency_key: str | None) -> dict[str, str]:
        # The same key goes with every retry below: the server replays instead of charging again.
        key = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return {**self._headers, **body.headers, **key}

    @staticmethod
    def _json(response: httpx.Response) -> dict:
        try:
            return response.json()
        except ValueError as exc:
            raise CutoutError(f"the server sent invalid JSON: {response.text[:200]!r}",
                              status=response.status_code) from exc


_REMOVAL_DOC = """Remove the background of `input_image` (a path, bytes, `{"base64": ...}` or a binary file).

        Or pass `image_url="https://..."` instead: the server downloads it (public addresses only).
        `idempotency_key` (≤ 255 characters, e.g. a UUID) makes retries safe: the server replays
        its first answer for 24 h and never charges twice (`result.replayed`).

        Options match rembg.js: `format` ("webp" default, "png", "jpeg", "bmp"), `w`/`h` (0 = unset),
        `exact_resize`, `mask` (rembg.js' returnMask), `bg_color` ("#RRGGBB[AA]" or a colour name),
        `angle` (degrees, counter-clockwise), `expand` (grow the canvas when rotating); Cutout's own:
        `refine` ("none" or "matting": refined edges), `crop` (crop to the subject), `crop_margin`
        (0-500 px, e.g. 20, or "0%"-"50%" of the subject's size), `model` (an installed model name),
        `quality` ("normal" or "high": a second model pass on the subject's box, better masks of
        subjects that fill little of the frame, about twice the model time).
        Returns a `RemovalResult` (`output_path`, `cleanup()`, `credits_charged`, `refine`,
        `foreground` = the subject's box (left, top, width, height) in input pixels, ...), written to
        `output_path` when given or else a temporary file; with `return_base64=True`, a
        `data:image/...;base64,...` string. Progress callbacks receive `ProgressEvent`s.
        """


class Client(_Base):
    """Synchronous client; thread-safe, reuses connections. Use as a context manager or `close()`."""

    def __init__(self, api_key: str | None = None, *, http_client: httpx.Client | None = None, **kwargs: Any):
        super().__init__(api_key, **kwargs)
        self._http = http_client or httpx.Client(**self._http_options)
        self._sleep = time.sleep

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def remove_background(self, input_image: InputImage | None = None, *, image_url: str | None = None,
                          idempotency_key: str | None = None, format: str = "webp", w: int | None = 0,
                          h: int | None = 0, exact_resize: bool = False, mask: bool = False,
                          bg_color: str | None = None, angle: float | None = None, expand: bool = True,
                          return_base64: bool = False, refine: str | None = None, crop: bool = False,
                          crop_margin: int | str | None = None, model: str | None = None,
                          quality: str | None = None, on_upload_progress: ProgressCallback | None = None,
                          on_download_progress: ProgressCallback | None = None,
                          output_path: str | os.PathLike | None = None) -> RemovalResult | str:
        body = self._removal_body(input_image, image_url, dict(
            format=format, w=w, h=h, exact_resize=exact_resize, mask=mask, bg_color=bg_color, angle=angle,
            expand=expand, return_base64=return_base64, refine=refine, crop=crop, crop_margin=crop_margin,
            model=model, quality=quality))
        attempt = 0
        while True:
            error: CutoutError | None = None
            try:
                content = body.iter_chunks(self.chunk_size, on_upload_progress)
                headers = self._removal_headers(body, idempotency_key)
                url = self._url("/rmbg")
                with self._http.stream("POST", url, headers=headers, content=content) as response:
                    if response.is_success:
                        return self._receive(response, return_base64, output_path, on_download_progress)
                    error = error_from_response(response.status_code, response.read(), response.headers)
            except _RETRIABLE_TRANSPORT as exc:
                delay = self.retry.delay(attempt, None)
                if delay is None:
                    raise NetworkError(f"cannot reach {self.base_url}: {exc}") from exc
            except httpx.HTTPError as exc:
                raise NetworkError(f"request to {self.base_url} failed: {exc}") from exc
            if error is not None:
                delay = self.retry.delay(attempt, error)
                if delay is None:
                    raise error
            self._sleep(delay)
            attempt += 1

    remove_background.__doc__ = _REMOVAL_DOC

    def _receive(self, response: httpx.Response, return_base64: bool, output_path,
                 on_progress: ProgressCallback | None) -> RemovalResult | str:
        sink = ResponseSink(response.headers, to_base64=return_base64, output_path=output_path,
                            on_progress=on_progress)
        try:
            for chunk in response.iter_bytes(self.chunk_size):
                sink.write(chunk, response.num_bytes_downloaded)
        except BaseException:
            sink.abort()
            raise
        return sink.finish()

    def membership_usage(self, *, year: int | None = None, month: int | None = None,
                         period_start_unix: int | None = None, expand: str | Iterable[str] | None = None,
                         include_billing_cycle: bool = False, list_billing_cycles: bool = False) -> dict:
        """GET /api/membership-usage in any mode; returns the JSON payload as a dict (SPEC §3)."""
        params = _usage_params(year=year, month=month, period_start_unix=period_start_unix, expand=expand,
                               include_billing_cycle=include_billing_cycle,
                               list_billing_cycles=list_billing_cycles)
        return self._get_json("/api/membership-usage", params)

    def billing_cycles(self) -> list[dict]:
        """Known billing windows, newest first (`listBillingCycles=1`)."""
        return self.membership_usage(list_billing_cycles=True)["billingCycles"]

    def _get_json(self, path: str, params: Mapping[str, str]) -> dict:
        return self._send_json("GET", path, params=params)

    def _send_json(self, method: str, path: str, **request: Any) -> dict:
        """One JSON call with the retry policy (429 with a short Retry-After, 503, refused connections)."""
        attempt = 0
        while True:
            try:
                response = self._http.request(method, self._url(path), headers=self._headers, **request)
            except _RETRIABLE_TRANSPORT as exc:
                delay = self.retry.delay(attempt, None)
                if delay is None:
                    raise NetworkError(f"cannot reach {self.base_url}: {exc}") from exc
            except httpx.HTTPError as exc:
                raise NetworkError(f"request to {self.base_url} failed: {exc}") from exc
            else:
                if response.is_success:
                    return self._json(response)
                error = error_from_response(response.status_code, response.content, response.headers)
                delay = self.retry.delay(attempt, error)
                if delay is None:
                    raise error
            self._sleep(delay)
            attempt += 1


    # --- reports of bad cut-outs ----------------------------------------------------------------

    def report(self, *, consent: bool, note: str = "", idempotency_key: str | None = None,
               job_id: str | None = None, index: int | None = None) -> dict:
        """Send a bad cut-out to the operators: a `remove_background` result made with
        `idempotency_key` (kept 24 h), or a batch item (`job_id`, `index`). `consent` must be True:
        you agree to send the image and its result. Returns {"id", "status": "received"}."""
        if (idempotency_key is None) == (job_id is None or index is None):
            raise ConfigurationError("pass idempotency_key, or job_id and index")
        body: dict[str, Any] = {"consent": consent, "note": note}
        if idempotency_key is not None:
            return self._send_json("POST", "/rmbg/report", json=body | {"idempotency_key": idempotency_key})
        return self._send_json("POST", f"/api/jobs/{job_id}/items/{index}/report", json=body)

    # --- batch jobs (POST/GET/DELETE /api/jobs) ---------------------------------------------------

    def jobs_submit(self, images: Iterable[str | os.PathLike | tuple[str, bytes]], *,
                    callback_url: str | None = None, **options: Any) -> dict:
        """Submit up to 100 images as one batch job; returns the job (`id`, `status`, `items`, ...).

        `images`: paths, or (filename, bytes) pairs. `options`: those of `remove_background`.
        Nothing is charged at submit: each item costs one credit when a worker delivers it.
        """
        files = [("image", _job_file(image)) for image in images]
        data = form_fields(**options) + ([("callback_url", callback_url)] if callback_url else [])
        return self._send_json("POST", "/api/jobs", files=files, data=dict(data))

    def jobs_get(self, job_id: str) -> dict:
        """The job now: its status and, per item, its status, error or signed result `url`."""
        return self._send_json("GET", f"/api/jobs/{job_id}")

    def jobs_cancel(self, job_id: str) -> dict:
        """Cancel the items no worker has started (they cost nothing)."""
        return self._send_json("DELETE", f"/api/jobs/{job_id}")

    def jobs_wait(self, job_id: str, *, poll_interval: float = 1.0, timeout: float | None = None,
                  on_progress: Callable[[dict], None] | None = None) -> dict:
        """Poll until the job is final (done, partial, failed, cancelled); `on_progress(job)` after each."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.jobs_get(job_id)
            if on_progress:
                on_progress(job)
            if job["status"] in JOB_FINAL and not job["counts"].get("running"):
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise CutoutError(f"job {job_id} is still {job['status']} after {timeout} s")
            self._sleep(poll_interval)

    def job_result_save(self, item: dict, path: str | os.PathLike) -> Path:
        """Download a done item's result (its signed URL; no API key is sent) to `path`, atomically."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        try:
            with self._http.stream("GET", item["url"]) as response:
                if not response.is_success:
                    raise error_from_response(response.status_code, response.read(), response.headers)
                with open(partial, "wb") as handle:
                    for chunk in response.iter_bytes(self.chunk_size):
                        handle.write(chunk)
        except httpx.HTTPError as exc:
            raise NetworkError(f"download of {item.get('filename')} failed: {exc}") from exc
        partial.replace(target)
        return target


JOB_FINAL = ("done", "partial", "failed", "cancelled")


def _job_file(image: str | os.PathLike | tuple[str, bytes]) -> tuple[str, bytes]:
    if isinstance(image, tuple):
        return image
    path = Path(image)
    return path.name, path.read_bytes()


class AsyncClient(_Base):
    """The asyncio (or trio) twin of `Client`: same methods, awaited."""

    def __init__(self, api_key: str | None = None, *, http_client: httpx.AsyncClient | None = None,
                 **kwargs: Any):
        super().__init__(api_key, **kwargs)
        self._http = http_client or httpx.AsyncClient(**self._http_options)
        self._sleep = anyio.sleep

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def remove_background(
        self, input_image: InputImage | None = None, *, image_url: str | None = None,
        idempotency_key: str | None = None, format: str = "webp", w: int | None = 0, h: int | None = 0,
        exact_resize: bool = False, mask: bool = False, bg_color: str | None = None,
        angle: float | None = None, expand: bool = True, return_base64: bool = False,
        refine: str | None = None, crop: bool = False, crop_margin: int | str | None = None,
        model: str | None = None, quality: str | None = None,
        on_upload_progress: ProgressCallback | None = None,
        on_download_progress: ProgressCallback | None = None, output_path: str | os.PathLike | None = None,
    ) -> RemovalResult | str:
        body = self._removal_body(input_image, image_url, dict(
            format=format, w=w, h=h, exact_resize=exact_resize, mask=mask, bg_color=bg_color, angle=angle,
            expand=expand, return_base64=return_base64, refine=refine, crop=crop, crop_margin=crop_margin,
            model=model, quality=quality))
        attempt = 0
        while True:
            error: CutoutError | None = None
            try:
                async with self._http.stream(
                    "POST", self._url("/rmbg"), headers=self._removal_headers(body, idempotency_key),
                    content=body.aiter_chunks(self.chunk_size, on_upload_progress),
                ) as response:
                    if response.is_success:
                        return await self._receive(response, return_base64, output_path, on_download_progress)
                    content = await response.aread()
                    error = error_from_response(response.status_code, content, response.headers)
            except _RETRIABLE_TRANSPORT as exc:
                delay = self.retry.delay(attempt, None)
                if delay is None:
                    raise NetworkError(f"cannot reach {self.base_url}: {exc}") from exc
            except httpx.HTTPError as exc:
                raise NetworkError(f"request to {self.base_url} failed: {exc}") from exc
            if error is not None:
                delay = self.retry.delay(attempt, error)
                if delay is None:
                    raise error
            await self._sleep(delay)
            attempt += 1

    remove_background.__doc__ = _REMOVAL_DOC

    async def _receive(self, response: httpx.Response, return_base64: bool, output_path,
                       on_progress: ProgressCallback | None) -> RemovalResult | str:
        sink = ResponseSink(response.headers, to_base64=return_base64, output_path=output_path,
                            on_progress=on_progress)
        try:
            async for chunk in response.aiter_bytes(self.chunk_size):
                sink.write(chunk, response.num_bytes_downloaded)
        except BaseException:
            sink.abort()
            raise
        return sink.finish()

    async def membership_usage(
        self, *, year: int | None = None, month: int | None = None, period_start_unix: int | None = None,
        expand: str | Iterable[str] | None = None, include_billing_cycle: bool = False,
        list_billing_cycles: bool = False,
    ) -> dict:
        """GET /api/membership-usage in any mode; returns the JSON payload as a dict (SPEC §3)."""
        params = _usage_params(year=year, month=month, period_start_unix=period_start_unix, expand=expand,
                               include_billing_cycle=include_billing_cycle,
                               list_billing_cycles=list_billing_cycles)
        attempt = 0
        while True:
            try:
                response = await self._http.get(self._url("/api/membership-usage"), params=params,
                                                 headers=self._headers)
            except _RETRIABLE_TRANSPORT as exc:
                delay = self.retry.delay(attempt, None)
                if delay is None:
                    raise NetworkError(f"cannot reach {self.base_url}: {exc}") from exc
            except httpx.HTTPError as exc:
                raise NetworkError(f"request to {self.base_url} failed: {exc}") from exc
            else:
                if response.is_success:
                    return self._json(response)
                error = error_from_response(response.status_code, response.content, response.headers)
                delay = self.retry.delay(attempt, error)
                if delay is None:
                    raise error
            await self._sleep(delay)
            attempt += 1

    async def billing_cycles(self) -> list[dict]:
        return (await self.membership_usage(list_billing_cycles=True))["billingCycles"]
