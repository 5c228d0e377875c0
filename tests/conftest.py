"""Shared fixtures: real Redis (an isolated database, flushed around each test)."""

import pytest
import redis
from django.conf import settings

TEST_REDIS_DB = 15


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
