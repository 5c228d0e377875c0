"""remove_background against the live server: every input kind, every option, progress, errors, retries."""

import base64
import io
import time
from pathlib import Path

import cutout_client
import httpx
import pytest
from cutout_client import AsyncClient, BadRequest, Client, RateLimited, RemovalResult, Unauthorized
from PIL import Image

from tests.client.conftest import plan_put
from tests.client.images import encode, figure


def opened(result: RemovalResult) -> Image.Image:
    image = Image.open(result.output_path)
    image.load()
    return image


# --- input kinds -------------------------------------------------------------------------------------


def _as_str_path(tmp_path, jpeg):
    path = tmp_path / "input.jpg"
    path.write_bytes(jpeg)
    return str(path)


def _as_path(tmp_path, jpeg):
    path = tmp_path / "input.jpeg"
    path.write_bytes(jpeg)
    return path


def _as_file(tmp_path, jpeg):
    path = tmp_path / "input.jpg"
    path.write_bytes(jpeg)
    return open(path, "rb")  # noqa: SIM115 - closed by the test


INPUTS = {
    "str path": _as_str_path,
    "pathlib.Path": _as_path,
    "bytes": lambda tmp_path, jpeg: jpeg,
    "base64": lambda tmp_path, jpeg: {"base64": base64.b64encode(jpeg).decode()},
    "base64 data URL": lambda tmp_path, jpeg: {
        "base64": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    },
    "binary file": _as_file,
}


@pytest.mark.parametrize("kind", INPUTS)
def test_it_accepts_each_input_kind(live_api, dave_key, small_jpeg, tmp_path, kind):
    input_image = INPUTS[kind](tmp_path, small_jpeg)
    result = cutout_client.remove_background(api_key=dave_key, input_image=input_image, base_url=live_api)
    if hasattr(input_image, "close"):
        input_image.close()
    assert isinstance(result, RemovalResult)
    assert result.output_path.suffix == ".webp"
    assert result.content_type == "image/webp"
    assert result.credits_charged == 1
    image = opened(result)
    assert (image.format, image.mode, image.size) == ("WEBP", "RGBA", (96, 64))
    assert (result.width, result.height) == image.size
    result.cleanup()
    assert not result.output_path.exists()


def test_it_returns_a_base64_data_url(live_api, dave_key, small_png):
    data_url = cutout_client.remove_background(api_key=dave_key, input_image=small_png, base_url=live_api,
                                               format="png", return_base64=True)
    assert isinstance(data_url, str)
    prefix, _, payload = data_url.partition(",")
    assert prefix == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert (image.format, image.size) == ("PNG", (96, 64))


def test_it_writes_to_the_path_asked_for_and_cleans_up_as_a_context_manager(live_api, dave_key, small_png,
                                                                             tmp_path):
    target = tmp_path / "out" / "cut.png"
    with Client(dave_key, base_url=live_api) as client:
        with client.remove_background(small_png, format="png", output_path=target) as result:
            assert result.output_path == target
            assert opened(result).format == "PNG"
            assert [p.name for p in target.parent.iterdir()] == ["cut.png"]  # no partial file left
    assert not target.exists()


def test_it_reads_key_and_server_from_the_environment(live_api, dave_key, small_png, monkeypatch):
    monkeypatch.setenv("CUTOUT_API_KEY", dave_key)
    monkeypatch.setenv("CUTOUT_BASE_URL", live_api)
    with cutout_client.remove_background(input_image=small_png) as result:
        assert result.credits_charged == 1


# --- options -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "pil_format", "content_type", "suffix"), [
    ("webp", "WEBP", "image/webp", ".webp"),
    ("png", "PNG", "image/png", ".png"),
    ("JPEG", "JPEG", "image/jpeg", ".jpg"),
    ("jpg", "JPEG", "image/jpeg", ".jpg"),
    ("bmp", "BMP", "image/bmp", ".bmp"),
])
def test_it_asks_for_each_format(live_api, dave_key, small_png, fmt, pil_format, content_type, suffix):
    with Client(dave_key, base_url=live_api) as client:
        with client.remove_background(small_png, format=fmt) as result:
            assert (result.content_type, result.output_path.suffix) == (content_type, suffix)
            assert opened(result).format == pil_format


@pytest.mark.parametrize(("options", "check"), [
    ({"w": 48}, lambda im: im.size == (48, 32)),
    ({"h": 32}, lambda im: im.size == (48, 32)),
    ({"w": 40, "h": 40}, lambda im: im.width == 40 and im.height < 40),
    ({"w": 40, "h": 40, "exact_resize": True}, lambda im: im.size == (40, 40)),
    ({"mask": True}, lambda im: im.mode == "L" and im.size == (96, 64)),
    ({"bg_color": "#00ff00"}, lambda im: im.convert("RGBA").getextrema()[3] == (255, 255)),
    ({"bg_color": "blue"}, lambda im: im.convert("RGBA").getextrema()[3] == (255, 255)),
    ({"angle": 90}, lambda im: im.size == (64, 96)),
    ({"angle": 45}, lambda im: im.width > 96 and im.height > 64),
    ({"angle": 45, "expand": False}, lambda im: im.size == (96, 64)),
], ids=["w", "h", "w+h fit", "exact_resize", "mask", "bg_color hex", "bg_color name", "angle 90",
        "angle 45 expand", "angle 45 no expand"])
def test_it_passes_each_option(live_api, dave_key, small_png, options, check):
    with Client(dave_key, base_url=live_api) as client:
        with client.remove_background(small_png, format="png", **options) as result:
            image = opened(result)
            assert check(image), (options, image.mode, image.size)
            assert (result.width, result.height) == image.size


# --- progress ----------------------------------------------------------------------------------------


def assert_progress(events, *, upload: bool):
    assert len(events) > 3
    loaded = [event.loaded for event in events]
    assert loaded == sorted(loaded) and len(set(loaded)) == len(loaded)
    progress = [event.progress for event in events]
    assert progress == sorted(progress) and 0 < progress[0] and progress[-1] == 1.0
    assert all(event.upload is upload and event.download is not upload for event in events)
    assert events[-1].loaded == events[-1].total
    assert sum(event.bytes for event in events) == events[-1].total


def test_it_reports_upload_and_download_progress(live_api, dave_key, photo_png):
    uploads, downloads = [], []
    with Client(dave_key, base_url=live_api, chunk_size=16 * 1024) as client:
        result = client.remove_background(photo_png, format="png", on_upload_progress=uploads.append,
                                          on_download_progress=downloads.append)
    assert_progress(uploads, upload=True)
    assert uploads[-1].total > len(photo_png)  # the whole multipart body, not only the image
    assert_progress(downloads, upload=False)
    assert downloads[-1].total == result.output_path.stat().st_size
    result.cleanup()


async def test_it_works_asynchronously_with_progress(live_api, dave_key, photo_png, small_png):
    uploads, downloads = [], []
    async with AsyncClient(dave_key, base_url=live_api, chunk_size=16 * 1024) as client:
        result = await client.remove_background(photo_png, format="png", w=256,
                                                on_upload_progress=uploads.append,
                                                on_download_progress=downloads.append)
        data_url = await client.remove_background(small_png, return_base64=True)
        usage = await client.membership_usage()
    assert_progress(uploads, upload=True)
    assert_progress(downloads, upload=False)
    assert opened(result).size == (256, 256)
    result.cleanup()
    assert data_url.startswith("data:image/webp;base64,")
    assert usage["api_usage"] == 2


# --- errors ------------------------------------------------------------------------------------------


def test_it_surfaces_every_validation_error_with_details(live_api, dave_key, small_png):
    with Client(dave_key, base_url=live_api) as client, pytest.raises(BadRequest) as caught:
        client.remove_background(small_png, w=-5, angle=500)
    error = caught.value
    assert (error.status, error.error) == (400, "Multiple validation errors")
    assert {"field": "w", "message": "'w' must be at least 1, got: -5"} in error.details
    assert {"field": "angle",
            "message": "'angle' must be between -360 and 360 degrees, got: 500.0"} in error.details


def test_it_surfaces_a_single_error_with_its_detail(live_api, dave_key, small_png):
    with pytest.raises(BadRequest) as caught:
        cutout_client.remove_background(api_key=dave_key, input_image=small_png, base_url=live_api,
                                        format="gif")
    assert caught.value.error == "Invalid format 'gif'. Allowed formats: PNG, JPEG, WEBP, BMP"
    assert caught.value.details == [{"field": "format", "message": caught.value.error}]


def test_it_rejects_an_unknown_key(live_api, small_png, transactional_db):
    with pytest.raises(Unauthorized) as caught:
        cutout_client.remove_background(api_key="ck_live_nothere1_x", input_image=small_png,
                                        base_url=live_api)
    assert (caught.value.status, caught.value.error) == (401, "invalid api key")


def _recording_http():
    """A plain httpx client whose event hooks note each request and response with a timestamp."""
    log = []

    def on_request(request):
        log.append(("request", time.monotonic(), None))

    def on_response(response):
        log.append(("response", time.monotonic(), response))

    return httpx.Client(event_hooks={"request": [on_request], "response": [on_response]}), log


@pytest.fixture
def burst_plan(settings):
    """A plan allowing one request per second in a true rolling window, so the live server answers
    429 + Retry-After reliably and briefly."""
    from billing.plans import Plan

    plan = Plan(slug="burst-test", label="Burst-Test", credits=100, rate_limit="1/second")
    settings.BILLING_PLANS = (*settings.BILLING_PLANS, plan)
    settings.BILLING_RATE_LIMIT_STRATEGY = "moving-window"
    return plan


def test_it_retries_a_429_after_retry_after(live_api, dave, dave_key, burst_plan, small_png):
    from accounts.services import caller_identify
    from billing.ratelimit import ratelimit_check

    plan_put(dave, burst_plan)
    # Use up this second's one request through billing's own limiter, as a parallel request would.
    ratelimit_check(caller=caller_identify(api_key=dave_key, bearer=None, remote_addr="127.0.0.1",
                                           forwarded_for=None))
    http, log = _recording_http()
    with Client(dave_key, base_url=live_api, http_client=http, max_retries=5) as client:
        result = client.remove_background(small_png)
    assert result.credits_charged == 1
    responses = [(at, response) for kind, at, response in log if kind == "response"]
    statuses = [response.status_code for _, response in responses]
    assert statuses[0] == 429 and statuses[-1] == 200 and set(statuses) == {200, 429}
    refused = responses[0][1].json()
    assert refused["error"] == "You're making requests too quickly, Please Upgrade or slow down."
    requests_at = [at for kind, at, _ in log if kind == "request"]
    for index, (at, response) in enumerate(responses):
        if response.status_code == 429:
            wait = float(response.headers["Retry-After"])
            assert wait >= 1
            assert requests_at[index + 1] - at >= wait  # the retry waited as long as the server asked
    with Client(dave_key, base_url=live_api) as client:
        assert client.membership_usage()["api_usage"] == 1  # refused attempts cost nothing


def test_it_does_not_wait_longer_than_allowed(live_api, dave, dave_key, settings, small_png):
    from billing.plans import Plan

    slow = Plan(slug="slow-test", label="Slow-Test", credits=100, rate_limit="1/minute")
    settings.BILLING_PLANS = (*settings.BILLING_PLANS, slow)
    plan_put(dave, slow)
    with Client(dave_key, base_url=live_api, max_retry_wait=5) as client:
        client.remove_background(small_png).cleanup()
        with pytest.raises(RateLimited) as caught:
            client.remove_background(small_png)
    assert caught.value.error == "You're making requests too quickly, Please Upgrade or slow down."
    assert caught.value.retry_after > 5
    assert caught.value.headers["ratelimit-remaining"] == "0"


def test_it_does_not_retry_when_credits_are_used_up(live_api, dave, dave_key, small_png):
    from billing.plans import plan_get

    plan_put(dave, plan_get("premium-20000"), credits=0)
    http, log = _recording_http()
    with Client(dave_key, base_url=live_api, http_client=http) as client:
        with pytest.raises(RateLimited) as caught:
            client.remove_background(small_png)
    assert caught.value.error == "You've reached your monthly limit. Consider purchasing more credits."
    assert caught.value.retry_after is None
    assert [kind for kind, _, _ in log] == ["request", "response"]


def test_it_leaves_no_file_behind_on_errors(live_api, dave_key, tmp_path):
    target = tmp_path / "never.webp"
    with Client(dave_key, base_url=live_api) as client, pytest.raises(BadRequest):
        client.remove_background(b"this is not an image", output_path=target)
    assert list(Path(tmp_path).iterdir()) == []


def test_it_sends_what_rembg_js_sends(live_api, dave_key):
    """A non-PNG buffer is still accepted: rembg.js names every Buffer image.png."""
    with Client(dave_key, base_url=live_api) as client:
        result = client.remove_background({"base64": base64.b64encode(encode(figure(), "BMP")).decode(),
                                           "filename": "image.png"}, format="WEBP")
    assert opened(result).size == (96, 64)
    result.cleanup()


def test_it_returns_the_subject_box_and_what_refinement_did(live_api, dave_key, small_jpeg):
    with Client(dave_key, base_url=live_api) as client:
        plain = client.remove_background(small_jpeg)
        cropped = client.remove_background(small_jpeg, refine="matting", crop=True, crop_margin=0)
    with plain, cropped:
        assert plain.refine is None and plain.foreground is not None
        assert cropped.refine in ("matting", "reduced", "skipped")
        _left, _top, width, height = cropped.foreground  # the box of the refined alpha
        assert (cropped.width, cropped.height) == (width, height)
