"""Shared fixtures: real Redis (an isolated database, flushed around each test) and named users.

alice and bob have verified email addresses; charlie has not verified his.
"""

from pathlib import Path

import pytest
import redis
from django.conf import settings

TEST_REDIS_DB = 15
ROOT = Path(__file__).resolve().parent.parent
# The true-matte photos (../shared/quality/README.md) are read in place, never copied into the
# repository: ../shared from the main checkout, ../../shared from a worktree under wt/.
QUALITY_DIRS = (ROOT.parent / "shared" / "quality", ROOT.parent.parent / "shared" / "quality")


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(settings.REDIS_URL)
    db = client.connection_pool.connection_kwargs.get("db", 0)
    if db != TEST_REDIS_DB:
        pytest.fail(
            f"tests flush Redis, so they only run on database {TEST_REDIS_DB} "
            f"(REDIS_URL={settings.REDIS_URL!r}); run them with `make test`"
        )
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(autouse=True)
def _clean_redis(redis_client):
    yield


def _make_user(email: str, *, verified: bool):
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username=email.split("@")[0], email=email, password="correct horse battery staple"
    )
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)
    return user


@pytest.fixture
def alice(db):
    return _make_user("alice@example.com", verified=True)


@pytest.fixture
def bob(db):
    return _make_user("bob@example.com", verified=True)


@pytest.fixture
def charlie(db):
    return _make_user("charlie@example.com", verified=False)


@pytest.fixture
def chromium():
    """Debian's Chromium, headless, through Playwright (see tests/live.py)."""
    from tests.live import chromium_browser

    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def private_redis(tmp_path, settings):
    """settings.REDIS_URL pointed at a redis-server this test alone owns (and may kill)."""
    from tests.live import PrivateRedis

    server = PrivateRedis(tmp_path / "redis")
    server.start()
    settings.REDIS_URL = server.url
    yield server
    server.stop()


@pytest.fixture(scope="session")
def quality_dir() -> Path:
    """Where the alphamatting.com photos with true mattes are; a clear failure when they are not."""
    for path in QUALITY_DIRS:
        if (path / "am_GT01_image.png").is_file():
            return path
    pytest.fail(f"the true-matte photos are missing: looked in {', '.join(map(str, QUALITY_DIRS))}")
