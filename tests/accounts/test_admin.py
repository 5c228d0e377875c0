import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-admin-tests")
    client.force_login(admin)
    return client


def test_it_lists_keys_by_prefix_without_the_hash(admin_client_, alice_key):
    key, plaintext = alice_key
    page = admin_client_.get("/admin/accounts/apikey/").content.decode()
    assert key.prefix in page
    assert key.secret_hash not in page
    assert plaintext not in page
    detail = admin_client_.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert key.prefix in detail
    assert key.secret_hash not in detail and key.secret_hash[:16] not in detail


def test_it_shows_a_users_keys_without_the_hash(admin_client_, alice, alice_key):
    key, _ = alice_key
    page = admin_client_.get(f"/admin/auth/user/{alice.pk}/change/").content.decode()
    assert key.prefix in page
    assert key.secret_hash not in page


def test_it_cannot_add_keys_in_the_admin(admin_client_):
    assert admin_client_.get("/admin/accounts/apikey/add/").status_code == 403


def test_it_revokes_keys_from_the_admin(admin_client_, alice_key, identify):
    from accounts.errors import InvalidApiKey

    key, plaintext = alice_key
    admin_client_.post("/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    with pytest.raises(InvalidApiKey):
        identify(api_key=plaintext)
