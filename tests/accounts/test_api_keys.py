import re

import pytest
from django.db import connection

from accounts import services
from accounts.models import ApiKey

pytestmark = pytest.mark.django_db


def database_text() -> str:
    """Every value of every row of every table in the database, as one string to search."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


def test_it_creates_a_recognisable_key_with_enough_randomness(alice):
    key, plaintext = services.api_key_create(user=alice, name="  server  ")
    match = re.fullmatch(r"ck_live_([a-z0-9]{8})_([A-Za-z0-9_-]{43,})", plaintext)
    assert match, plaintext
    assert key.public_id == match.group(1)
    assert key.prefix == f"ck_live_{key.public_id}"
    assert key.name == "server"


def test_it_stores_only_a_hash(alice):
    key, plaintext = services.api_key_create(user=alice, name="server")
    secret = plaintext[len("ck_live_") + 9 :]
    stored = database_text()
    assert plaintext not in stored
    assert secret not in stored
    assert key.secret_hash in stored
    assert len(key.secret_hash) == 64


def test_it_makes_different_keys_each_time(alice):
    plaintexts = {services.api_key_create(user=alice, name=f"k{i}")[1] for i in range(5)}
    assert len(plaintexts) == 5


def test_it_lists_only_active_keys_of_the_user(alice, bob):
    first, _ = services.api_key_create(user=alice, name="first")
    second, _ = services.api_key_create(user=alice, name="second")
    services.api_key_create(user=bob, name="bob's")
    services.api_key_revoke(user=alice, key_id=first.pk)
    assert [k.name for k in services.api_key_list(user=alice)] == ["second"]


def test_it_does_not_revoke_someone_elses_key(alice, bob, identify):
    key, plaintext = services.api_key_create(user=alice, name="alice's")
    assert services.api_key_revoke(user=bob, key_id=key.pk) is False
    assert identify(api_key=plaintext).user == alice


def test_it_reports_revoking_twice(alice):
    key, _ = services.api_key_create(user=alice, name="k")
    assert services.api_key_revoke(user=alice, key_id=key.pk) is True
    assert services.api_key_revoke(user=alice, key_id=key.pk) is False
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_it_reads_email_verification(alice, charlie):
    assert services.email_is_verified(user=alice) is True
    assert services.email_is_verified(user=charlie) is False
