"""Editor fixtures: real photos, funded users, a logged-in client, websockets through config.asgi,
a spy on the model, and the SPEC §2 usage counters read straight from Redis."""

import io
from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from django.test import AsyncClient, Client
from PIL import Image

ORIGIN = b"http://127.0.0.1:8000"  # the default SITE_URL: an allowed websocket origin
PASSWORD = "correct horse battery staple"


def photo_bytes(side: int, fmt: str = "JPEG") -> bytes:
    """skimage's astronaut (a person on a busy background), resized to side × side."""
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def photo() -> bytes:
    return photo_bytes(320)


@pytest.fixture
def asgi_server(transactional_db):
    """The project's ASGI app served over a real socket (tests/live.py); its base URL."""
    from tests import live

    with live.asgi_server() as base_url:
        yield base_url


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings.MEDIA_ROOT


def fund(user, *, credits: int = 1000) -> None:
    """Put the user on a paid plan through billing's own writer (database row + Redis mirror)."""
    from billing.state import account_write

    account_write(user_id=user.pk, fields={"plan_slug": "premium-1000", "membership": "Premium-1000",
                                            "credits": credits})


@pytest.fixture
def funded_alice(alice):
    fund(alice)
    return alice


def usage(redis_client, user) -> dict[str, int]:
    """Every `user:{uid}:*_usage*` counter and the balances, per SPEC §2."""
    now = datetime.now(UTC)
    keys = [f"user:{user.pk}:{source}_usage:{now.year}:{now.month}" for source in ("app", "api")]
    keys += [key.decode() for key in redis_client.scan_iter(f"user:{user.pk}:*_usage:cycle:*")]
    keys += [f"user:{user.pk}:prepaid_credits", f"user:{user.pk}:credits"]
    return {key: int(redis_client.get(key) or 0) for key in keys}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def async_logged_in(user) -> AsyncClient:
    sync = logged_in(user)
    client = AsyncClient()
    client.cookies = sync.cookies
    return client


def upload_form(data: bytes, name: str = "astronaut.jpg", **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {"image": SimpleUploadedFile(name, data, content_type="image/jpeg"), **fields}


def job_processed(user, data: bytes, *, fmt: str):
    """A job `user` uploaded through the editor and that finished (one credit spent)."""
    from editor.models import EditorJob

    response = logged_in(user).post("/editor/jobs/", upload_form(data, format=fmt))
    assert response.status_code == 200
    return EditorJob.objects.get(pk=response.json()["id"])


def job_result(job_id) -> Image.Image:
    """The job's current output, decoded."""
    from django.core.files.storage import default_storage

    from editor.models import EditorJob

    job = EditorJob.objects.get(pk=job_id)
    with default_storage.open(job.result) as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


@pytest.fixture
def model_calls(monkeypatch):
    """Counts model inferences: wraps the real inference stage (it still runs)."""
    from removal import segment

    calls = []
    real = segment.model_run

    def spy(prepared):
        calls.append(prepared.model)
        return real(prepared)

    monkeypatch.setattr(segment, "model_run", spy)
    return calls


def ws_communicator(*, cookie: str | None = None, origin: bytes | None = ORIGIN):
    """A websocket client against the real ASGI application (origin check + session auth)."""
    from channels.testing import WebsocketCommunicator

    from config.asgi import application

    headers = [(b"host", b"127.0.0.1")]
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/editor/", headers=headers)


def session_cookie(client: Client) -> str:
    from django.conf import settings

    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


# --- the editor in a real Chromium (tests/live.py) ------------------------------------------------

DESKTOP = {"width": 1366, "height": 850}


@pytest.fixture
def context(chromium):
    context = chromium.new_context(accept_downloads=True, viewport=DESKTOP)
    yield context
    context.close()


def _sign_in(context, base_url: str, user) -> None:
    """The browser gets the session cookie of a Django test client login (no login page round-trip)."""
    session = logged_in(user).cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}])


@pytest.fixture
def editor(context, asgi_server, alice):
    """alice (funded) on the editor, its websocket open; console errors collected."""
    from playwright.sync_api import expect

    fund(alice)
    _sign_in(context, asgi_server, alice)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda msg: msg.type == "error" and page.problems.append(msg.text))
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    page.goto(f"{asgi_server}/editor/")
    expect(page.get_by_test_id("editor")).to_have_attribute("data-socket", "open")
    return page


