"""POST /rmbg end to end: real model, real Redis, real keys and tokens; charges only on 200."""

import io
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from accounts.services import api_key_revoke, user_token_issue
from billing.models import LedgerEntry
from billing.state import prepaid_grant_apply
from tests.api.multipart import form_data_body

pytestmark = pytest.mark.django_db

MONTHLY_LIMIT = "You've reached your monthly limit. Consider purchasing more credits."


def post(client, image: bytes, *, fields=(), name="photo.jpg", content_type="image/jpeg", headers=None,
         path="/rmbg"):
    body, ctype = form_data_body(list(fields), [("image", name, image, content_type)])
    return client.generic("POST", path, body, content_type=ctype, headers=headers or {})


def usage(redis_client, user, source: str) -> int:
    now = datetime.now(UTC)
    return int(redis_client.get(f"user:{user.id}:{source}_usage:{now.year}:{now.month}") or 0)


def test_it_returns_a_cutout_and_charges_one_api_credit(client, alice, api_key_for, photo_jpeg, redis_client):
    response = post(client, photo_jpeg, headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert (response["X-Credits-Charged"], response["X-Width"], response["X-Height"]) == ("1", "512", "512")
    assert int(response["RateLimit-Limit"]) == 100
    assert int(response["RateLimit-Remaining"]) == 99
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.mode, image.size) == ("WEBP", "RGBA", (512, 512))
    alpha = np.asarray(image)[:, :, 3]
    assert alpha.min() == 0 and alpha.max() == 255  # something was cut away, something kept
    assert usage(redis_client, alice, "api") == 1
    assert usage(redis_client, alice, "app") == 0
    assert LedgerEntry.objects.filter(user=alice, kind="charge").count() == 1


def test_it_serves_the_same_endpoint_under_api(client, alice, api_key_for, small_png):
    response = post(client, small_png, name="a.png", content_type="image/png", fields=[("format", "png")],
                    headers={"x-api-key": api_key_for(alice)}, path="/api/rmbg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


def test_it_counts_a_user_token_as_app_usage(client, alice, small_png, redis_client):
    token = user_token_issue(user=alice)
    response = post(client, small_png, name="a.png", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert usage(redis_client, alice, "app") == 1
    assert usage(redis_client, alice, "api") == 0


def test_it_lets_anonymous_callers_try_for_free(client, small_png, redis_client):
    response = post(client, small_png, name="a.png")
    assert response.status_code == 200
    assert response["X-Credits-Charged"] == "0"


def test_it_refuses_an_unknown_key(client, small_png):
    response = post(client, small_png, name="a.png", headers={"x-api-key": "ck_live_nope1234_" + "x" * 43})
    assert response.status_code == 401
    assert response.json() == {"error": "invalid api key", "status": 401}


def test_it_refuses_an_empty_key_header_instead_of_treating_it_as_anonymous(client, small_png, redis_client):
    response = post(client, small_png, name="a.png", headers={"x-api-key": ""})
    assert response.status_code == 401
    assert response.json() == {"error": "invalid api key", "status": 401}
    assert list(redis_client.scan_iter("*anon*")) == []  # no anonymous trial spent either


def test_it_refuses_a_revoked_key(client, alice, small_png):
    from accounts.services import api_key_create

    key, plaintext = api_key_create(user=alice, name="ci")
    assert post(client, small_png, name="a.png", headers={"x-api-key": plaintext}).status_code == 200
    api_key_revoke(user=alice, key_id=key.pk)
    response = post(client, small_png, name="a.png", headers={"x-api-key": plaintext})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid api key"


def test_it_refuses_a_key_whose_owner_has_not_verified(client, charlie, api_key_for, small_png, redis_client):
    response = post(client, small_png, name="a.png", headers={"x-api-key": api_key_for(charlie)})
    assert response.status_code == 403
    assert response.json() == {"error": "Email address not verified – please check your inbox", "status": 403}
    assert usage(redis_client, charlie, "api") == 0


def test_it_refuses_key_and_token_together(client, alice, api_key_for, small_png):
    headers = {"x-api-key": api_key_for(alice), "Authorization": f"Bearer {user_token_issue(user=alice)}"}
    response = post(client, small_png, name="a.png", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "This is a mistake: Cannot use both API key and user token"


def test_it_refuses_a_forged_token(client, small_png):
    response = post(client, small_png, name="a.png", headers={"Authorization": "Bearer forged.token.value"})
    assert response.status_code == 401


def test_it_limits_requests_per_key_in_the_short_term(client, alice, api_key_for, small_png, settings):
    from billing.plans import plans_parse

    settings.BILLING_PLANS = plans_parse(
        '[{"slug": "free", "label": "Free", "credits": 50, "rate_limit": "2/minute"}]', environ={}
    )
    headers = {"x-api-key": api_key_for(alice)}
    bad = [("format", "gif")]  # refused after the limit check: cheap, and still counts
    assert post(client, small_png, name="a.png", fields=bad, headers=headers).status_code == 400
    assert post(client, small_png, name="a.png", fields=bad, headers=headers).status_code == 400
    response = post(client, small_png, name="a.png", headers=headers)
    assert response.status_code == 429
    assert response.json()["error"] == "You're making requests too quickly, Please Upgrade or slow down."
    assert int(response["Retry-After"]) >= 1
    assert response["RateLimit-Limit"] == "2"
    assert response["RateLimit-Remaining"] == "0"


def test_it_limits_anonymous_callers_per_day(client, small_png, settings):
    settings.BILLING_ANON_DAILY_LIMIT = 1
    assert post(client, small_png, name="a.png").status_code == 200
    response = post(client, small_png, name="a.png")
    assert response.status_code == 429
    assert response.json()["error"] == "You've reached your daily limit. Please sign up for more access."
    assert int(response["Retry-After"]) <= 86400


def test_it_spends_included_then_prepaid_then_refuses(client, alice, api_key_for, small_png, redis_client):
    headers = {"x-api-key": api_key_for(alice)}
    prepaid_grant_apply(user_id=alice.id, idempotency_key="test-pack", credits=1)
    for _ in range(3):  # 2 included (Free in this catalogue) + 1 prepaid
        assert post(client, small_png, name="a.png", headers=headers).status_code == 200
    assert int(redis_client.get(f"user:{alice.id}:prepaid_credits")) == 0
    response = post(client, small_png, name="a.png", headers=headers)
    assert response.status_code == 429
    assert response.json() == {"error": MONTHLY_LIMIT, "status": 429}
    assert usage(redis_client, alice, "api") == 3


def test_it_charges_nothing_for_a_refused_request(client, alice, api_key_for, small_png, redis_client):
    headers = {"x-api-key": api_key_for(alice)}
    assert post(client, small_png, name="a.png", fields=[("w", "abc")], headers=headers).status_code == 400
    assert post(client, b"not an image", name="a.png", headers=headers).status_code == 400
    assert usage(redis_client, alice, "api") == 0
    assert not LedgerEntry.objects.filter(user=alice).exists()


def test_it_refunds_when_processing_fails(client, alice, api_key_for, small_png, redis_client, monkeypatch,
                                          caplog):
    from removal import pipeline

    async def broken_cutout(*args, **kwargs):
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(pipeline, "cutout_make", broken_cutout)  # failure injection, not a stub of the result
    response = post(client, small_png, name="a.png", headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 500
    assert response.json() == {"error": "Image processing failed", "status": 500}
    assert usage(redis_client, alice, "api") == 0
    kinds = sorted(LedgerEntry.objects.filter(user=alice).values_list("kind", flat=True))
    assert kinds == ["charge", "refund"]
    assert LedgerEntry.objects.get(user=alice, kind="charge").state == "refunded"
    # an operator can debug it: the traceback is logged once, by the charged run
    [record] = [r for r in caplog.records if r.name == "cutout.errors"]
    assert record.exc_info[0] is RuntimeError and "POST /rmbg" in record.getMessage()


def test_it_accepts_exactly_what_rembg_js_sends(client, alice, api_key_for, photo_jpeg):
    """rembg.js posts a Buffer named image.png (here holding a JPEG) and always sends these strings."""
    fields = [("exact_resize", "false"), ("w", "0"), ("h", "0"), ("mask", "false"),
              ("return_base64", "true"), ("expand", "true"), ("format", "PNG"), ("bg_color", "blue")]
    response = post(client, photo_jpeg, name="image.png", content_type="image/png", fields=fields,
                    headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("RGBA")
    pixels = np.asarray(image)
    assert image.size == (512, 512)
    assert pixels[:, :, 3].min() == 255  # a background colour leaves nothing transparent
    blue = np.all(pixels[:, :, :3] == (0, 0, 255), axis=-1).mean()
    assert blue > 0.05  # the removed background became blue


def test_it_returns_a_mask_for_rembg_js_return_mask(client, alice, api_key_for, photo_jpeg):
    fields = [("exact_resize", "false"), ("w", "200"), ("h", "0"), ("mask", "true"),
              ("return_base64", "false"), ("expand", "true"), ("format", "png")]
    response = post(client, photo_jpeg, name="image.png", fields=fields, headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.content))
    assert (image.mode, image.size) == ("L", (200, 200))


def test_it_accepts_an_upload_just_under_50_mb(client, alice, api_key_for):
    """Django's own multipart limits must not refuse a valid large file."""
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 255, (4000, 4300, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "BMP")
    data = buffer.getvalue()
    assert 49 * 1024**2 < len(data) < 50 * 1024**2
    response = post(client, data, name="big.bmp", content_type="image/bmp", fields=[("w", "300")],
                    headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 200
    assert (response["X-Width"], response["X-Height"]) == ("300", "279")


def test_it_answers_a_decode_that_runs_out_of_memory_with_a_json_500(client, alice, api_key_for, small_png,
                                                                      redis_client, monkeypatch, caplog):
    from removal import decode

    def no_memory(*args):
        raise MemoryError()

    monkeypatch.setattr(decode, "_normalize_mode", no_memory)  # failure injection inside the decoder
    response = post(client, small_png, name="a.png", headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 500
    assert response.json() == {"error": "Image processing failed", "status": 500}
    assert usage(redis_client, alice, "api") == 0
    assert "MemoryError" in caplog.text  # logged, with its traceback
