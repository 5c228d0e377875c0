"""The landing page: what Cutout does, a real before/after sample, links, and working quick-start snippets."""

import html
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from accounts import services

from .conftest import page_read

pytestmark = pytest.mark.django_db

SAMPLES = [Path(settings.BASE_DIR) / "static" / "home" / name for name in ("sample-before.webp",
                                                                            "sample-after.webp")]


def _snippet(page, name: str) -> str:
    return html.unescape(page.ids[f"snippet-{name}"]["text"])


def test_it_links_to_the_editor_pricing_and_docs(client):
    page = page_read(client.get("/").content.decode())
    assert page.ids["home-editor"]["href"] == "/editor/"
    assert page.ids["home-pricing"]["href"] == "/pricing/"
    assert page.ids["home-docs"]["href"] == "/api/docs"


def test_it_has_navigation_to_every_account_page(client, alice):
    client.force_login(alice)
    body = client.get("/").content.decode()
    nav = body[body.index('<nav class="site-nav"'):body.index("</nav>")]
    for href in ("/editor/", "/account/usage/", "/profile/", "/pricing/", "/api/docs"):
        assert f'href="{href}"' in nav


def test_it_shows_a_small_before_after_pair(client):
    body = client.get("/").content.decode()
    assert "home/sample-before.webp" in body and "home/sample-after.webp" in body
    assert sum(p.stat().st_size for p in SAMPLES) < 100 * 1024
    before, after = (Image.open(p) for p in SAMPLES)
    assert before.mode == "RGB" and after.mode == "RGBA"
    alpha = after.getchannel("A")
    assert alpha.getextrema() == (0, 255)  # transparent background, opaque subject


def test_it_writes_snippets_for_the_host_the_visitor_used(client, settings):
    settings.ALLOWED_HOSTS = ["cutout.example.com"]
    page = page_read(client.get("/", HTTP_HOST="cutout.example.com").content.decode())
    assert "http://cutout.example.com/rmbg" in _snippet(page, "curl")
    assert '"http://cutout.example.com/rmbg"' in _snippet(page, "python")
    interceptor = 'config.url = "http://cutout.example.com" + new URL(config.url).pathname'
    assert interceptor in _snippet(page, "rembgjs")


@pytest.fixture
def key(alice):
    _, plaintext = services.api_key_create(user=alice, name="quick start")
    return plaintext


@pytest.fixture
def photo(tmp_path):
    """A folder holding photo.jpg; snippets run there in their own process (never chdir the server's)."""
    from skimage import data as skdata

    Image.fromarray(skdata.astronaut()).resize((128, 128)).save(tmp_path / "photo.jpg")
    return tmp_path


def _assert_cutout(path: Path) -> None:
    with Image.open(path) as result:
        assert (result.format, result.mode, result.size) == ("PNG", "RGBA", (128, 128))
        assert result.getchannel("A").getextrema()[0] == 0


@pytest.mark.django_db(transaction=True)  # the live server thread must see the key
def test_it_gives_a_python_snippet_that_works(client, live_server, key, photo):
    page = page_read(client.get("/", HTTP_HOST=live_server.url.removeprefix("http://")).content.decode())
    subprocess.run([sys.executable, "-c", _snippet(page, "python")], check=True, cwd=photo, timeout=120,
                   env=os.environ | {"CUTOUT_API_KEY": key})
    _assert_cutout(photo / "photo-cutout.png")


@pytest.mark.django_db(transaction=True)  # the live server thread must see the key
def test_it_gives_a_curl_snippet_that_works(client, live_server, key, photo):
    page = page_read(client.get("/", HTTP_HOST=live_server.url.removeprefix("http://")).content.decode())
    subprocess.run(["bash", "-c", _snippet(page, "curl")], check=True, cwd=photo, timeout=120,
                   env=os.environ | {"CUTOUT_API_KEY": key})
    _assert_cutout(photo / "photo-cutout.png")
