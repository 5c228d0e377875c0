"""Test keys (ck_test_…, SPEC §7): processed for real, never charged, small, own rate limit."""

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from accounts.services import api_key_create
from billing.models import LedgerEntry
from tests.api.multipart import form_data_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def test_key(alice) -> str:
    _key, plaintext = api_key_create(user=alice, name="ci", is_test=True)
    return plaintext


def post(client, image: bytes, *, key: str, fields=()):
    body, ctype = form_data_body(list(fields), [("image", "photo.jpg", image, "image/jpeg")])
    return client.generic("POST", "/rmbg", body, content_type=ctype, headers={"x-api-key": key})


def test_it_is_never_charged_nor_counted(client, alice, test_key, photo_jpeg, redis_client):
    for _ in range(3):  # alice's Free plan has 2 credits: a live key would get 429 here
        response = post(client, photo_jpeg, key=test_key)
        assert response.status_code == 200
        assert (response["X-Test-Mode"], response["X-Credits-Charged"]) == ("true", "0")
    now = datetime.now(UTC)
    assert redis_client.get(f"user:{alice.id}:api_usage:{now.year}:{now.month}") is None
    assert LedgerEntry.objects.count() == 0
    usage = client.get("/api/membership-usage", headers={"x-api-key": test_key}).json()
    assert usage["api_usage"] == 0


@pytest.mark.parametrize("fields", [[], [("w", "3000")], [("angle", "45")], [("w", "1000"), ("h", "400"),
                                                                                ("exact_resize", "true")]])
def test_it_scales_results_to_fit_a_quarter_megapixel(client, test_key, photo_jpeg, fields):
    response = post(client, photo_jpeg, key=test_key, fields=fields)
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.content))
    assert image.width * image.height <= 250_000
    assert (image.width, image.height) == (int(response["X-Width"]), int(response["X-Height"]))
    assert image.width * image.height > 200_000  # scaled to fit, not shrunk to a thumbnail


def test_it_leaves_small_results_alone(client, test_key, small_png):
    body, ctype = form_data_body([], [("image", "a.png", small_png, "image/png")])
    response = client.generic("POST", "/rmbg", body, content_type=ctype, headers={"x-api-key": test_key})
    assert (response["X-Width"], response["X-Height"]) == ("64", "48")


def test_it_has_its_own_rate_limit(client, settings, test_key, photo_jpeg):
    settings.BILLING_TEST_KEY_RATE_LIMIT = "2/minute"
    first = post(client, photo_jpeg, key=test_key)
    assert first.status_code == 200
    assert 50 < int(first["RateLimit-Reset"]) <= 60  # a fresh minute window, not "1"
    assert post(client, photo_jpeg, key=test_key)["RateLimit-Limit"] == "2"
    refused = post(client, photo_jpeg, key=test_key)
    assert refused.status_code == 429
    assert refused.json()["error"] == "You're making requests too quickly, Please Upgrade or slow down."


def test_it_does_not_touch_live_keys(client, alice, api_key_for, photo_jpeg):
    response = post(client, photo_jpeg, key=api_key_for(alice))
    assert "X-Test-Mode" not in response
    assert response["X-Credits-Charged"] == "1"
