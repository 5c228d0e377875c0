"""POST /rmbg with `image_url` (SPEC §7): SSRF refusals on real sockets, downloads, limits, charges.

Every refusal is checked against a trap: a listening socket on 127.0.0.1 that counts accepted
connections. The allow-list is empty unless a test sets it, so "refused" must mean "no
connection was ever made", not "connected and then gave up".
"""

import pytest

from billing.models import LedgerEntry
from core import image_fetch
from tests.api.multipart import form_data_body
from tests.api.servers import Trap, image_server

pytestmark = pytest.mark.django_db


def post_url(client, url: str, *, key: str, fields=(), files=(), headers=None):
    body, ctype = form_data_body([("image_url", url), *fields], list(files))
    return client.generic("POST", "/rmbg", body, content_type=ctype, headers={"x-api-key": key, **(headers or {})})


@pytest.fixture
def trap():
    trap = Trap()
    yield trap
    trap.close()


@pytest.fixture
def key(alice, api_key_for):
    return api_key_for(alice)


@pytest.fixture
def no_allow_list(settings):
    settings.IMAGE_URL_ALLOW_NETWORKS = []
    return settings


@pytest.fixture
def private_dns(monkeypatch):
    """images.example.test resolves to 127.0.0.1 and 10.0.0.7 (as a rebinding or split-horizon
    DNS would answer), simulated in-process where the fetcher does its one lookup."""
    calls = []

    async def resolve(host, port):
        calls.append(host)
        if host == "images.example.test":
            return ["127.0.0.1", "10.0.0.7"]
        raise OSError("no network in tests")

    monkeypatch.setattr(image_fetch, "address_resolve", resolve)
    return calls


def loopback(trap) -> str:
    return f"http://127.0.0.1:{trap.port}/photo.jpg"


SSRF_TABLE = [
    ("http://127.0.0.1:{port}/photo.jpg", "image_url points to a loopback address (127.0.0.1), which is not allowed."),
    ("http://[::1]:{port}/photo.jpg", "image_url points to a loopback address (::1), which is not allowed."),
    ("http://10.0.0.1:{port}/photo.jpg", "image_url points to a private address (10.0.0.1), which is not allowed."),
    ("http://169.254.169.254/latest/meta-data/",
     "image_url points to a link-local address (169.254.169.254), which is not allowed."),
    ("http://0x7f000001:{port}/photo.jpg",
     "image_url points to a loopback address (127.0.0.1), which is not allowed."),
    ("http://[::ffff:127.0.0.1]:{port}/photo.jpg",
     "image_url points to an IPv4-mapped loopback address (::ffff:127.0.0.1), which is not allowed."),
    ("http://100.64.0.1:{port}/a.png",
     "image_url points to a shared (CGNAT) address (100.64.0.1), which is not allowed."),
    ("http://0.0.0.0:{port}/a.png", "image_url points to an unspecified address (0.0.0.0), which is not allowed."),
    ("http://224.0.0.1:{port}/a.png", "image_url points to a multicast address (224.0.0.1), which is not allowed."),
    ("http://240.0.0.1:{port}/a.png", "image_url points to a reserved address (240.0.0.1), which is not allowed."),
    ("file:///etc/passwd", "image_url must be an http or https URL, got: 'file'"),
    ("ftp://127.0.0.1:{port}/photo.jpg", "image_url must be an http or https URL, got: 'ftp'"),
    ("http://user:pw@127.0.0.1:{port}/photo.jpg", "image_url must not contain a user name or password."),
]


@pytest.mark.parametrize(("template", "message"), SSRF_TABLE, ids=[row[0] for row in SSRF_TABLE])
def test_it_refuses_an_internal_url_without_connecting(client, key, trap, no_allow_list, template, message,
                                                       redis_client):
    response = post_url(client, template.format(port=trap.port), key=key)
    assert response.status_code == 400, response.content
    assert response.json() == {"error": message, "details": [{"field": "image_url", "message": message}],
                               "status": 400}  # SPEC §1: one field error carries its one detail
    assert trap.accepts == 0
    assert LedgerEntry.objects.count() == 0


def test_it_refuses_a_name_that_resolves_to_a_private_address(client, key, trap, no_allow_list, private_dns):
    response = post_url(client, f"http://images.example.test:{trap.port}/photo.jpg", key=key)
    assert response.status_code == 400
    assert response.json()["error"] == "image_url points to a loopback address (127.0.0.1), which is not allowed."
    assert trap.accepts == 0
    assert private_dns == ["images.example.test"]  # resolved once


def test_it_refuses_a_redirect_to_a_private_address(client, key, trap, settings, photo_jpeg):
    """A public-looking (allowed) server redirects to the trap: the hop is re-checked and refused."""
    settings.IMAGE_URL_ALLOW_NETWORKS = ["127.0.0.2/32"]
    with image_server({"/photo.jpg": (photo_jpeg, "image/jpeg")}, host="127.0.0.2") as (base, log):
        response = post_url(client, f"{base}/redirect?to=http://127.0.0.1:{trap.port}/photo.jpg", key=key)
    assert response.status_code == 400
    assert response.json()["error"] == "image_url points to a loopback address (127.0.0.1), which is not allowed."
    assert trap.accepts == 0
    assert len(log) == 1


def test_it_connects_to_the_checked_address_only(client, key, settings, monkeypatch, photo_jpeg):
    """DNS rebinding: the name is resolved once; a second answer (private) is never asked for,
    and the request carries the name in Host while going to the checked IP."""
    settings.IMAGE_URL_ALLOW_NETWORKS = ["127.0.0.2/32"]
    answers = [["127.0.0.2"], ["127.0.0.1"]]

    async def rebinding(host, port):
        return answers.pop(0)

    monkeypatch.setattr(image_fetch, "address_resolve", rebinding)
    with image_server({"/photo.jpg": (photo_jpeg, "image/jpeg")}, host="127.0.0.2") as (base, log):
        port = base.rsplit(":", 1)[1]
        response = post_url(client, f"http://cdn.example.test:{port}/photo.jpg", key=key)
    assert response.status_code == 200, response.content
    assert answers == [["127.0.0.1"]]  # the second, private answer was never used
    assert log == [f"cdn.example.test:{port} /photo.jpg"]


@pytest.fixture
def allowed_server(settings, photo_jpeg, small_png):
    settings.IMAGE_URL_ALLOW_NETWORKS = ["127.0.0.1/32"]
    images = {"/photo.jpg": (photo_jpeg, "image/jpeg"), "/by-type": (small_png, "image/png"),
              "/notes.txt": (b"hello", "text/plain")}
    with image_server(images) as (base, log):
        yield base


def test_it_processes_an_allowed_url_and_charges_once(client, key, allowed_server, alice):
    response = post_url(client, f"{allowed_server}/photo.jpg", key=key)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/webp"
    assert (response["X-Credits-Charged"], response["X-Width"]) == ("1", "512")
    assert LedgerEntry.objects.filter(user=alice, kind="charge").count() == 1


def test_it_takes_the_file_type_from_content_type_when_the_path_has_none(client, key, allowed_server):
    response = post_url(client, f"{allowed_server}/by-type", key=key, fields=[("format", "png")])
    assert response.status_code == 200, response.content
    assert response["X-Width"] == "64"


def test_it_follows_up_to_three_redirects(client, key, allowed_server):
    url = f"{allowed_server}/photo.jpg"
    for _ in range(3):
        url = f"{allowed_server}/redirect?to={url}"
    assert post_url(client, url, key=key).status_code == 200
    response = post_url(client, f"{allowed_server}/redirect?to={url}", key=key)
    assert response.status_code == 400
    assert response.json()["error"] == "image_url redirected more than 3 times."


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/missing.png", 400, "image_url answered HTTP 404 Not Found; no image was downloaded."),
    ("/notes.txt", 400, "File type '.txt' is not supported. Allowed formats: webp, bmp, png, jpg, jpeg"),
    ("/huge", 400, "File size (60.0 MB) exceeds the maximum allowed size of 50 MB."),
])
def test_it_explains_a_failed_download_and_charges_nothing(client, key, allowed_server, path, status, message):
    response = post_url(client, allowed_server + path, key=key)
    assert (response.status_code, response.json()["error"]) == (status, message)
    assert LedgerEntry.objects.count() == 0


def test_it_stops_an_endless_body_at_the_upload_limit(client, key, allowed_server):
    response = post_url(client, f"{allowed_server}/endless", key=key)
    assert response.status_code == 400
    assert response.json()["error"].startswith("File size (50.")
    assert response.json()["error"].endswith("exceeds the maximum allowed size of 50 MB.")
    assert LedgerEntry.objects.count() == 0


def test_it_gives_up_on_a_slow_server(client, key, allowed_server, settings):
    settings.IMAGE_URL_TIMEOUT = 0.5
    response = post_url(client, f"{allowed_server}/slow?s=3", key=key)
    assert response.status_code == 504
    assert response.json() == {"error": "Downloading image_url took longer than 0.5 seconds.", "status": 504}
    assert LedgerEntry.objects.count() == 0


def test_it_answers_502_when_nothing_listens(client, key, settings):
    settings.IMAGE_URL_ALLOW_NETWORKS = ["127.0.0.1/32"]
    trap = Trap()
    port = trap.port
    trap.close()  # the port is now closed: connection refused
    response = post_url(client, f"http://127.0.0.1:{port}/photo.jpg", key=key)
    assert response.status_code == 502
    assert response.json()["error"] == "Could not connect to the server of image_url."


def test_it_refuses_image_and_image_url_together(client, key, photo_jpeg, trap):
    response = post_url(client, loopback(trap), key=key, files=[("image", "a.jpg", photo_jpeg, "image/jpeg")])
    assert response.status_code == 400
    assert response.json()["details"] == [{"field": "image_url", "message": "Provide either image or image_url, not both"}]
    assert trap.accepts == 0


def test_it_reports_the_url_clash_with_other_field_errors(client, key, photo_jpeg, trap):
    response = post_url(client, loopback(trap), key=key, fields=[("w", "abc")],
                        files=[("image", "a.jpg", photo_jpeg, "image/jpeg")])
    assert response.json()["error"] == "Multiple validation errors"
    assert [d["field"] for d in response.json()["details"]] == ["image_url", "w"]


def test_it_still_asks_for_an_image_when_neither_is_given(client, key):
    body, ctype = form_data_body([("image_url", "  ")], [])
    response = client.generic("POST", "/rmbg", body, content_type=ctype, headers={"x-api-key": key})
    assert response.json()["error"] == "No image file provided. Please include an 'image' field in your form data."


@pytest.fixture
def tls_site(tmp_path, monkeypatch, settings, photo_jpeg):
    """https://cdn.example.test:<port>/ served on 127.0.0.1 with a certificate for that name only;
    the fetcher trusts the test CA, and the name resolves (once) to 127.0.0.1."""
    import httpx

    from tests.api.servers import tls_contexts, tls_image_server

    settings.IMAGE_URL_ALLOW_NETWORKS = ["127.0.0.1/32"]
    server_context, client_context = tls_contexts("cdn.example.test", tmp_path)
    monkeypatch.setattr(image_fetch, "http_client", lambda: httpx.AsyncClient(
        verify=client_context, trust_env=False, follow_redirects=False, timeout=None))
    resolved = []

    async def resolve(host, port):
        resolved.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(image_fetch, "address_resolve", resolve)
    with tls_image_server({"/photo.jpg": (photo_jpeg, "image/jpeg")}, server_context) as (port, log):
        yield port, log, resolved


def test_it_fetches_https_from_the_pinned_address_with_the_name_in_sni(client, key, tls_site):
    """Connected to 127.0.0.1 yet the certificate for cdn.example.test verified: SNI and Host carry
    the name while the socket goes to the checked address."""
    port, log, resolved = tls_site
    response = post_url(client, f"https://cdn.example.test:{port}/photo.jpg", key=key)
    assert response.status_code == 200, response.content
    assert resolved == ["cdn.example.test"]
    assert log == [f"cdn.example.test:{port} /photo.jpg"]


def test_it_refuses_a_certificate_for_another_name(client, key, tls_site):
    port, log, _resolved = tls_site
    response = post_url(client, f"https://other.example.test:{port}/photo.jpg", key=key)
    assert response.status_code == 502
    assert response.json()["error"] == "Could not connect to the server of image_url."
    assert log == []
