"""A live Cutout server for the client's tests: uvicorn serving config.asgi in a thread of this process.

Running in-process means the server sees the test database (pytest-django's) and the test Redis
(db 15, flushed around each test) exactly as the test does; it is still a real HTTP server on a
real socket, so the client is exercised end to end. Tests that talk to it use `transactional_db`
so the rows they create are committed and visible to the server's threads.
"""

import pytest

from tests import live
from tests.client.images import astronaut, encode, figure


@pytest.fixture(scope="session")
def live_api(django_db_setup, django_db_blocker):
    """Base URL of a running server; started once per session."""
    with live.asgi_server(websockets=False) as base_url:
        yield base_url


def _verified_user(email: str):
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username=email.split("@")[0], email=email, password="correct horse battery staple"
    )
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


@pytest.fixture
def dave(transactional_db):
    """A verified user on a plan whose rate limit (300/minute) stays out of the tests' way."""
    from billing.plans import plan_get

    user = _verified_user("dave@example.com")
    plan_put(user, plan_get("premium-20000"))
    return user


def plan_put(user, plan, **fields) -> None:
    """Put `user` on `plan` through billing's own state service (database row + Redis mirror)."""
    from billing.state import account_write

    account_write(user_id=user.pk, fields={"plan_slug": plan.slug, "membership": plan.label,
                                           "credits": plan.credits, **fields})


@pytest.fixture
def api_key_for(transactional_db):
    from accounts.services import api_key_create

    def make(user, name="client test") -> str:
        _key, plaintext = api_key_create(user=user, name=name)
        return plaintext

    return make


@pytest.fixture
def dave_key(dave, api_key_for) -> str:
    return api_key_for(dave)


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch, tmp_path):
    """Keep a developer's CUTOUT_* variables and .env files out of the tests."""
    monkeypatch.delenv("CUTOUT_API_KEY", raising=False)
    monkeypatch.delenv("CUTOUT_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def small_png() -> bytes:
    return encode(figure(), "PNG")


@pytest.fixture(scope="session")
def small_jpeg() -> bytes:
    return encode(figure(), "JPEG", quality=90)


@pytest.fixture(scope="session")
def photo_png() -> bytes:
    """A real photograph (scikit-image's astronaut, 512×512) as PNG, ~0.5 MB: many upload chunks."""
    return encode(astronaut(), "PNG")
