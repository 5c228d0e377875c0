import json
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services
from accounts.errors import (
    AuthError,
    EmailNotVerified,
    InvalidApiKey,
    InvalidUserToken,
    KeyAndTokenTogether,
)
from accounts.models import ApiKey

pytestmark = pytest.mark.django_db


class _OldTimestampSigner(signing.TimestampSigner):
    """Signs with a timestamp from 16 minutes ago: a genuinely signed but expired token."""

    def timestamp(self):
        return signing.b62_encode(int(time.time()) - 16 * 60)


# --- anonymous and API keys ----------------------------------------------------------------


def test_it_identifies_an_anonymous_caller_by_ip(identify):
    caller = identify()
    assert caller == services.Caller(user=None, source="anonymous", ip="203.0.113.7", api_key_id=None)


def test_it_identifies_an_api_key_owner(identify, alice, alice_key):
    key, plaintext = alice_key
    caller = identify(api_key=plaintext)
    assert caller.user == alice
    assert caller.source == "api"
    assert caller.api_key_id == key.pk
    assert caller.ip == "203.0.113.7"


def test_it_refuses_a_revoked_key_on_the_next_call(identify, alice, alice_key):
    key, plaintext = alice_key
    identify(api_key=plaintext)
    assert services.api_key_revoke(user=alice, key_id=key.pk)
    with pytest.raises(InvalidApiKey) as excinfo:
        identify(api_key=plaintext)
    assert excinfo.value.status == 401
    assert excinfo.value.message == "invalid api key"
    assert excinfo.value.headers == {}
    assert excinfo.value.details is None


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "nonsense", "ck_live_", "ck_live_abcdefgh", "ck_live_abcdefgh_", "ck_test_abcdefgh_xyz"],
)
def test_it_refuses_malformed_keys(identify, alice_key, bad):
    with pytest.raises(InvalidApiKey):
        identify(api_key=bad)


def test_it_refuses_a_known_prefix_with_the_wrong_secret(identify, alice_key):
    key, plaintext = alice_key
    forged = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")
    with pytest.raises(InvalidApiKey):
        identify(api_key=forged)


def test_it_refuses_the_secret_under_another_keys_prefix(identify, alice_key, bob):
    _, alice_plaintext = alice_key
    bob_key, _ = services.api_key_create(user=bob, name="bob")
    swapped = bob_key.prefix + alice_plaintext[len(bob_key.prefix) :]
    with pytest.raises(InvalidApiKey):
        identify(api_key=swapped)


def test_it_refuses_the_key_of_an_unverified_user_with_403(identify, charlie_key):
    _, plaintext = charlie_key
    with pytest.raises(EmailNotVerified) as excinfo:
        identify(api_key=plaintext)
    assert excinfo.value.status == 403
    assert excinfo.value.message == "Email address not verified – please check your inbox"


def test_it_refuses_the_key_of_an_inactive_user(identify, alice, alice_key):
    alice.is_active = False
    alice.save()
    with pytest.raises(InvalidApiKey):
        identify(api_key=alice_key[1])


def test_it_refuses_a_key_and_a_token_together(identify, alice, alice_key):
    token = services.user_token_issue(user=alice)
    with pytest.raises(KeyAndTokenTogether) as excinfo:
        identify(api_key=alice_key[1], bearer=token)
    assert excinfo.value.status == 400
    assert excinfo.value.message == "This is a mistake: Cannot use both API key and user token"


def test_it_refuses_key_and_token_together_even_when_both_are_junk(identify, db):
    with pytest.raises(KeyAndTokenTogether):
        identify(api_key="junk", bearer="junk")


def test_all_errors_share_the_auth_error_shape():
    for error in (InvalidApiKey(), InvalidUserToken(), EmailNotVerified(), KeyAndTokenTogether()):
        assert isinstance(error, AuthError)
        assert isinstance(error.status, int) and error.message and error.headers == {}


# --- last_used_at ------------------------------------------------------------------------------


def test_it_records_the_first_use_of_a_key(identify, alice_key):
    key, plaintext = alice_key
    assert key.last_used_at is None
    identify(api_key=plaintext)
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_it_does_not_write_last_used_on_every_request(identify, alice_key):
    key, plaintext = alice_key
    identify(api_key=plaintext)
    key.refresh_from_db()
    first = key.last_used_at
    with CaptureQueriesContext(connection) as queries:
        identify(api_key=plaintext)
    assert not [q for q in queries.captured_queries if q["sql"].upper().startswith("UPDATE")]
    key.refresh_from_db()
    assert key.last_used_at == first


def test_it_writes_last_used_again_after_a_minute(identify, alice_key):
    key, plaintext = alice_key
    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=two_minutes_ago)
    identify(api_key=plaintext)
    key.refresh_from_db()
    assert key.last_used_at > two_minutes_ago + timedelta(seconds=60)


# --- user tokens -------------------------------------------------------------------------------


def test_it_identifies_a_user_token_as_the_app(identify, alice):
    caller = identify(bearer=services.user_token_issue(user=alice))
    assert caller.user == alice
    assert caller.source == "app"
    assert caller.api_key_id is None


def test_it_refuses_a_forged_token(identify, alice):
    token = services.user_token_issue(user=alice)
    value, _, signature = token.rpartition(":")
    forged = f"{value}:{'A' * len(signature)}"
    with pytest.raises(InvalidUserToken) as excinfo:
        identify(bearer=forged)
    assert excinfo.value.status == 401


def test_it_refuses_a_token_edited_to_name_another_user(identify, alice, bob):
    services.user_token_issue(user=bob)
    token = services.user_token_issue(user=alice)
    payload = signing.TimestampSigner(salt="cutout.user-token").unsign_object(token)
    _, timestamp, signature = token.split(":")
    edited_json = json.dumps({**payload, "u": bob.pk}, separators=(",", ":")).encode()
    edited = f"{signing.b64_encode(edited_json).decode()}:{timestamp}:{signature}"
    with pytest.raises(InvalidUserToken):
        identify(bearer=edited)


def test_it_refuses_a_token_signed_for_another_purpose(identify, alice):
    services.user_token_issue(user=alice)
    token = signing.TimestampSigner(salt="cutout.something-else").sign_object({"u": alice.pk, "g": 0})
    with pytest.raises(InvalidUserToken):
        identify(bearer=token)


def test_it_refuses_an_expired_token(identify, alice):
    state_token = services.user_token_issue(user=alice)
    payload = signing.TimestampSigner(salt="cutout.user-token").unsign_object(state_token)
    expired = _OldTimestampSigner(salt="cutout.user-token").sign_object(payload)
    with pytest.raises(InvalidUserToken):
        identify(bearer=expired)


@pytest.mark.parametrize("bad", ["", "garbage", "a:b:c"])
def test_it_refuses_junk_tokens(identify, db, bad):
    with pytest.raises(InvalidUserToken):
        identify(bearer=bad)


def test_it_refuses_a_token_after_logout(identify, client, alice):
    client.force_login(alice)
    token = services.user_token_issue(user=alice)
    assert identify(bearer=token).user == alice
    client.post("/accounts/logout/")
    with pytest.raises(InvalidUserToken):
        identify(bearer=token)
    assert identify(bearer=services.user_token_issue(user=alice)).user == alice


def test_it_refuses_a_token_after_a_password_change(identify, client, alice):
    client.force_login(alice)
    token = services.user_token_issue(user=alice)
    response = client.post(
        "/accounts/password/change/",
        {
            "oldpassword": "correct horse battery staple",
            "password1": "a new horse staple",
            "password2": "a new horse staple",
        },
    )
    assert response.status_code == 302
    with pytest.raises(InvalidUserToken):
        identify(bearer=token)


def test_it_refuses_a_token_of_an_unverified_user_with_403(identify, charlie):
    with pytest.raises(EmailNotVerified):
        identify(bearer=services.user_token_issue(user=charlie))


def test_it_refuses_a_token_of_a_deactivated_user(identify, alice):
    token = services.user_token_issue(user=alice)
    alice.is_active = False
    alice.save()
    with pytest.raises(InvalidUserToken):
        identify(bearer=token)


def test_it_ignores_forwarded_for_from_an_untrusted_peer(identify, settings, db):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    assert identify(remote_addr="198.51.100.9", forwarded_for="1.2.3.4").ip == "198.51.100.9"
    assert identify(remote_addr="10.0.0.1", forwarded_for="1.2.3.4").ip == "1.2.3.4"
