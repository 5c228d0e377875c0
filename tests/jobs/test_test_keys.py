"""A batch job submitted with a test key (SPEC §7): processed small and never charged, over HTTP with
a live server and a real Celery worker — exactly as /rmbg treats the same key."""

import io
import time

import httpx
import pytest
from PIL import Image

from accounts.services import api_key_create
from billing.models import LedgerEntry
from tests.client.conftest import live_api  # noqa: F401  (the session's live server)
from tests.client.images import astronaut, encode


@pytest.fixture
def test_key(alice) -> str:
    _key, plaintext = api_key_create(user=alice, name="ci", is_test=True)
    return plaintext


def _photo() -> bytes:
    return encode(astronaut().resize((1122, 1402)), "JPEG", quality=90)  # 1.57 MP, a real photo


def test_a_test_key_batch_item_is_small_and_never_charged(live_api, alice, test_key, worker,  # noqa: F811
                                                          redis_client):
    headers = {"x-api-key": test_key}
    usage = httpx.get(f"{live_api}/api/membership-usage", headers=headers).json()
    response = httpx.post(f"{live_api}/api/jobs", headers=headers, timeout=60,
                          files=[("image", ("people.jpg", _photo(), "image/jpeg"))], data={"format": "png"})
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 60
    while (job := httpx.get(response.json()["status_url"], headers=headers).json())["status"] != "done":
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.2)
    item = job["items"][0]
    assert item["width"] * item["height"] <= 250_000 < 1122 * 1402
    result = Image.open(io.BytesIO(httpx.get(item["url"]).content))
    assert result.size == (item["width"], item["height"])
    after = httpx.get(f"{live_api}/api/membership-usage", headers=headers).json()
    assert (after["api_usage"], after["credits"]) == (usage["api_usage"], usage["credits"])
    assert not LedgerEntry.objects.filter(user=alice).exists()
