"""Pages fail as site pages (header, links, the site's CSS); API paths keep SPEC's JSON errors."""

import pytest
from django.test import Client

from .conftest import page_read

pytestmark = pytest.mark.django_db

HEADINGS = {404: "Page not found", 500: "Something went wrong on our side", 403: "You cannot open this page",
            400: "The request could not be understood"}


@pytest.fixture
def failing(settings):
    settings.ROOT_URLCONF = "tests.pages.error_urls"
    return Client(raise_request_exception=False)


def _site_page(response, status: int) -> str:
    html = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert '<header class="site-header">' in html and "/static/css/site.css" in html
    page = page_read(html)
    assert page.text("error-code") == f"Error {status}"
    assert HEADINGS[status] in html
    return html


@pytest.mark.parametrize("status", [500, 403, 400])
def test_it_renders_page_failures_as_site_pages(failing, status):
    _site_page(failing.get(f"/boom/{status}/"), status)


def test_it_renders_an_unknown_page_as_a_site_page_naming_the_path(client):
    html = _site_page(client.get("/no/such/page/"), 404)
    assert page_read(html).text("error-path") == "/no/such/page/"


def test_it_shows_a_signed_in_user_their_header_on_a_404(client, alice):
    client.force_login(alice)
    assert "alice@example.com" in _site_page(client.get("/no/such/page/"), 404)


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/api/boom/500", 500, "Internal server error. Nothing was charged."),
    ("/api/boom/403", 403, "Forbidden"),
    ("/api/boom/400", 400, "Bad request"),
    ("/api/no-such-endpoint", 404, "Not found"),
])
def test_it_keeps_json_errors_on_api_paths(failing, path, status, message):
    response = failing.get(path)
    assert response.status_code == status
    assert response.json() == {"error": message, "status": status}


def test_it_explains_an_expired_form_as_a_site_page(alice):
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"login": "alice@example.com"})
    html = response.content.decode()
    assert response.status_code == 403
    assert '<header class="site-header">' in html and "This form has expired" in html
