import re

import pytest
from django.core import mail

from accounts import services
from accounts.errors import InvalidApiKey
from accounts.models import ApiKey

from .test_api_keys import database_text

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(r"ck_live_[a-z0-9]{8}_[A-Za-z0-9_-]{43,}")


def test_it_requires_login(client):
    response = client.get("/profile/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_it_shows_email_and_plan(alice_client):
    response = alice_client.get("/profile/")
    assert response.status_code == 200
    assert b"alice@example.com" in response.content
    assert b'data-testid="profile-plan">Free<' in response.content
    assert response.headers["Cache-Control"].startswith("max-age=0")


def test_it_shows_the_plan_billing_has_on_record(alice, alice_client):
    from billing.state import account_write

    account_write(user_id=alice.id, fields={"plan_slug": "premium-1000", "membership": "Premium-1000",
                                            "credits": 1000})
    response = alice_client.get("/profile/")
    assert b'data-testid="profile-plan">Premium-1000<' in response.content


def test_it_shows_a_new_key_exactly_once(alice_client, alice, identify):
    response = alice_client.post("/profile/keys/", {"name": "laptop"})
    assert response.status_code == 302
    assert response.url == "/profile/"
    # The plain text is on no page but the one right after the redirect...
    assert not KEY_RE.search(response.content.decode())

    shown = alice_client.get("/profile/").content.decode()
    plaintext = KEY_RE.search(shown).group(0)
    assert identify(api_key=plaintext).user == alice

    # ... and never again, while the key stays listed by name and prefix.
    again = alice_client.get("/profile/").content.decode()
    key = ApiKey.objects.get(user=alice)
    assert plaintext not in again
    assert not KEY_RE.search(again)
    assert "laptop" in again
    assert f"{key.prefix}…" in again


def test_it_never_writes_the_new_key_to_the_database(alice_client):
    alice_client.post("/profile/keys/", {"name": "laptop"})
    stored_between_requests = database_text()
    plaintext = KEY_RE.search(alice_client.get("/profile/").content.decode()).group(0)
    secret = plaintext[len("ck_live_") + 9 :]
    assert secret not in stored_between_requests
    assert secret not in database_text()


def test_it_does_not_reveal_a_key_without_the_cookie_half(alice_client, client):
    alice_client.post("/profile/keys/", {"name": "laptop"})
    alice_client.cookies.pop("cutout_key_reveal")
    assert not KEY_RE.search(alice_client.get("/profile/").content.decode())


def test_it_rejects_an_empty_name(alice_client, alice):
    response = alice_client.post("/profile/keys/", {"name": "   "})
    assert response.status_code == 400
    assert b"This field is required" in response.content
    assert not ApiKey.objects.filter(user=alice).exists()


def test_it_revokes_a_key_at_once(alice_client, alice, alice_key, identify):
    key, plaintext = alice_key
    identify(api_key=plaintext)
    response = alice_client.post(f"/profile/keys/{key.pk}/revoke/")
    assert response.status_code == 302
    with pytest.raises(InvalidApiKey):
        identify(api_key=plaintext)
    assert key.prefix.encode() not in alice_client.get("/profile/").content


def test_it_does_not_revoke_another_users_key(client, bob, alice_key, identify):
    client.force_login(bob)
    key, plaintext = alice_key
    assert client.post(f"/profile/keys/{key.pk}/revoke/").status_code == 404
    assert identify(api_key=plaintext).source == "api"


def test_it_refuses_get_on_actions(alice_client, alice_key):
    assert alice_client.get("/profile/keys/").status_code == 405
    assert alice_client.get(f"/profile/keys/{alice_key[0].pk}/revoke/").status_code == 405


def test_it_shows_the_verify_banner_only_to_unverified_users(client, alice, charlie):
    client.force_login(charlie)
    assert b'data-testid="verify-email-banner"' in client.get("/profile/").content
    assert b'data-testid="verify-email-banner"' in client.get("/").content
    client.force_login(alice)
    assert b'data-testid="verify-email-banner"' not in client.get("/profile/").content


def test_it_resends_the_verification_email(client, charlie):
    client.force_login(charlie)
    response = client.post("/profile/verify-email/", {"next": "/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["charlie@example.com"]
    assert "/accounts/confirm-email/" in mail.outbox[0].body
    # A second press right away is held back by allauth's confirm_email rate limit.
    response = client.post("/profile/verify-email/", {"next": "https://evil.example/"})
    assert response.url == "/profile/"
    assert len(mail.outbox) == 1


def test_it_issues_user_tokens_for_the_web_app(alice_client, alice, identify):
    response = alice_client.post("/profile/token/")
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 900
    assert identify(bearer=body["token"]).user == alice
    assert services.user_token_issue(user=alice) != ""


def test_it_creates_a_test_key_that_identifies_in_test_mode(alice_client, alice, identify):
    alice_client.post("/profile/keys/", {"name": "ci", "is_test": "on"})
    shown = alice_client.get("/profile/").content.decode()
    plaintext = re.search(r"ck_test_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", shown).group(0)
    caller = identify(api_key=plaintext)
    assert (caller.user, caller.test_mode) == (alice, True)
    assert ApiKey.objects.get(user=alice).is_test
    assert 'data-testid="test-key-badge"' in alice_client.get("/profile/").content.decode()


def test_it_creates_live_keys_by_default(alice_client, alice, identify):
    alice_client.post("/profile/keys/", {"name": "server"})
    plaintext = KEY_RE.search(alice_client.get("/profile/").content.decode()).group(0)
    assert plaintext.startswith("ck_live_")
    assert identify(api_key=plaintext).test_mode is False


def test_it_refuses_a_live_key_relabelled_as_a_test_key(alice_key, identify):
    _key, plaintext = alice_key
    with pytest.raises(InvalidApiKey):
        identify(api_key=plaintext.replace("ck_live_", "ck_test_"))
