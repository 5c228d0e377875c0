"""Fixtures for the accounts tests: API keys, user tokens and a clean allauth rate-limit cache."""

import re

import pytest
from django.core.cache import cache

from accounts import services

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _clean_rate_limits():
    # allauth keeps its rate-limit windows in Django's cache; tests must not inherit them.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice_key(alice):
    """(ApiKey, plaintext) for alice, who has a verified email."""
    return services.api_key_create(user=alice, name="alice's server")


@pytest.fixture
def charlie_key(charlie):
    return services.api_key_create(user=charlie, name="charlie's laptop")


@pytest.fixture
def identify():
    """caller_identify with a plain peer address unless the test says otherwise."""

    def _identify(*, api_key=None, bearer=None, remote_addr="203.0.113.7", forwarded_for=None):
        return services.caller_identify(
            api_key=api_key, bearer=bearer, remote_addr=remote_addr, forwarded_for=forwarded_for
        )

    return _identify


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def link_from_mail(body: str) -> str:
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+/", body)
    assert match, body
    return match.group(0)
