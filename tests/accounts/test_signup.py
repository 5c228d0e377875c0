import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail

from accounts import services
from accounts.errors import EmailNotVerified

from .conftest import PASSWORD, link_from_mail

pytestmark = pytest.mark.django_db


def sign_up(client, email="dora@example.com"):
    return client.post("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})


def test_it_signs_up_verifies_and_unlocks_the_api(client, identify):
    response = sign_up(client)
    assert response.status_code == 302
    assert response.url == "/profile/"
    user = get_user_model().objects.get(email="dora@example.com")
    assert not services.email_is_verified(user=user)

    # Unverified but signed in: the banner shows and the API refuses with 403.
    assert b'data-testid="verify-email-banner"' in client.get("/profile/").content
    _, plaintext = services.api_key_create(user=user, name="k")
    with pytest.raises(EmailNotVerified):
        identify(api_key=plaintext)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("[Cutout] ")
    link = link_from_mail(mail.outbox[0].body)
    page = client.get(link)
    assert page.status_code == 200
    assert b"dora@example.com" in page.content
    client.post(link)

    assert services.email_is_verified(user=user)
    assert identify(api_key=plaintext).user == user
    assert b'data-testid="verify-email-banner"' not in client.get("/profile/").content


def test_it_rejects_a_second_account_for_the_same_email(client, alice):
    response = sign_up(client, email="ALICE@example.com")
    assert response.status_code == 200
    assert get_user_model().objects.filter(email__iexact="alice@example.com").count() == 1


def test_it_logs_in_by_email(client, alice):
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/profile/").status_code == 200


def test_it_rate_limits_failed_logins(client, alice):
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": "alice@example.com", "password": "wrong"})
        assert response.status_code == 200
    # The sixth try is refused even with the right password.
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert b"Too many failed login attempts" in response.content
    assert client.get("/profile/").status_code == 302


def test_it_sends_a_password_reset_link(client, alice):
    response = client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_it_renders_the_auth_pages_in_our_layout(client, alice):
    for url in ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'class="site-header"' in response.content, url
    client.force_login(alice)
    for url in ["/accounts/password/change/", "/accounts/email/", "/accounts/logout/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'class="site-header"' in response.content, url


def test_it_keeps_the_email_address_row_after_verification(client):
    sign_up(client, email="eve@example.com")
    client.post(link_from_mail(mail.outbox[0].body))
    assert EmailAddress.objects.get(email="eve@example.com").verified
