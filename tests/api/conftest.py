import io
import json

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata


def _encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def photo_jpeg() -> bytes:
    """A real photograph (scikit-image's astronaut, 512×512) as JPEG."""
    return _encode(Image.fromarray(skdata.astronaut()), "JPEG", quality=90)


@pytest.fixture(scope="session")
def small_png() -> bytes:
    rng = np.random.default_rng(7)
    image = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    return _encode(image, "PNG")


@pytest.fixture
def api_key_for():
    from accounts.services import api_key_create

    def make(user, name="test key") -> str:
        _key, plaintext = api_key_create(user=user, name=name)
        return plaintext

    return make


@pytest.fixture(autouse=True)
def api_plans(settings):
    """A known catalogue: Free has 2 credits a month and a roomy short-term limit."""
    from billing.plans import packs_parse, plans_parse

    settings.BILLING_PLANS = plans_parse(
        json.dumps([{"slug": "free", "label": "Free", "credits": 2, "rate_limit": "100/minute"}]), environ={}
    )
    settings.BILLING_PACKS = packs_parse("", environ={})
    settings.BILLING_FREE_PLAN = "free"
    settings.BILLING_ANON_DAILY_LIMIT = 5
    settings.BILLING_ANON_RATE_LIMIT = "100/minute"
    return settings


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Stored files (Idempotency-Key answers) go to a per-test directory, not var/media."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings.MEDIA_ROOT
