"""The free re-render is guarded like a cut-out (issue 27), tried over a real socket as a signed-in
user would: hostile strokes are refused at the edge, a render whose client goes away leaves the job
renderable, a render left "in flight" by a dead process is recovered, and one user's renders cannot
hold every slot."""

import json
import threading
import time
from datetime import timedelta

import httpx
import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.utils import timezone

from editor.models import EditorJob

from .conftest import job_processed, logged_in, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def processed(funded_alice, photo):
    return job_processed(funded_alice, photo, fmt="png")


def _browser(base_url: str, user) -> httpx.Client:
    """An HTTP client holding a signed-in session and a CSRF token, as the editor page does."""
    token = _get_new_csrf_string()
    name, _, value = session_cookie(logged_in(user)).partition("=")
    return httpx.Client(base_url=base_url, cookies={name: value, "csrftoken": token},
                        headers={"X-CSRFToken": token, "Referer": base_url + "/editor/"}, timeout=60)


def _render(browser: httpx.Client, job: EditorJob, **fields) -> httpx.Response:
    return browser.post(f"/editor/jobs/{job.pk}/render/", data=fields)


HOSTILE = {"mode": "erase", "radius": 2000, "hardness": 1,
           "points": [[-1e6, -1e6] if i % 2 else [1e6, 1e6] for i in range(50_000)]}


def test_it_refuses_a_hostile_stroke_at_the_edge(asgi_server, processed, funded_alice):
    with _browser(asgi_server, funded_alice) as browser:
        response = _render(browser, processed, strokes=json.dumps([HOSTILE]))
    assert response.status_code == 400
    body = response.json()
    assert {detail["field"] for detail in body["details"]} == {"strokes"}
    assert "at most 5000 points" in body["details"][0]["message"]
    assert EditorJob.objects.get(pk=processed.pk).strokes == []


@pytest.mark.parametrize(("stroke", "message"), [
    ({"mode": "erase", "radius": 800, "hardness": 1, "points": [[0, 0], [320, 320]]},
     "A touch-up brush radius may be at most the image's diagonal (453 px), got 800"),
    ({"mode": "erase", "radius": 200, "hardness": 1, "points": [[0, 0], [320, 320]] * 40},
     "The touch-ups paint too much: at most 8 times the image's area"),
])
def test_it_bounds_the_brush_and_the_painted_area(asgi_server, processed, funded_alice, stroke, message):
    with _browser(asgi_server, funded_alice) as browser:
        response = _render(browser, processed, strokes=json.dumps([stroke]))
    assert response.status_code == 400
    assert response.json() == {"error": message, "details": [{"field": "strokes", "message": message}],
                               "status": 400}


def test_it_clamps_points_far_outside_the_image(asgi_server, processed, funded_alice):
    """A point a million pixels away costs nothing: it is clamped to the image's edge."""
    stroke = {"mode": "erase", "radius": 10, "hardness": 1, "points": [[-1e6, 160], [1e6, 160]]}
    with _browser(asgi_server, funded_alice) as browser:
        response = _render(browser, processed, format="png", strokes=json.dumps([stroke]))
    assert response.status_code == 200, response.text
    assert response.json()["touchups"]["strokes"][0]["points"] == [[0, 160], [320, 160]]


@pytest.fixture
def slow_strokes(monkeypatch):
    """Holds every stroke rasterisation until released (the real one then runs)."""
    from cutouts import service

    started, gate = threading.Event(), threading.Event()
    real = service.strokes_apply

    def held(mask, strokes):
        started.set()
        gate.wait(30)
        return real(mask, strokes)

    monkeypatch.setattr(service, "strokes_apply", held)
    yield started, gate
    gate.set()


ERASE = json.dumps([{"mode": "erase", "radius": 20, "hardness": 1, "points": [[100, 100], [200, 200]]}])


def test_a_render_abandoned_by_its_client_leaves_the_job_done_and_renderable(asgi_server, processed,
                                                                           funded_alice, slow_strokes):
    started, gate = slow_strokes
    with _browser(asgi_server, funded_alice) as browser:
        with pytest.raises(httpx.ReadTimeout):
            browser.post(f"/editor/jobs/{processed.pk}/render/", data={"strokes": ERASE}, timeout=2)
        assert started.wait(10)
        gate.set()
        deadline = time.monotonic() + 30
        while EditorJob.objects.get(pk=processed.pk).stage != EditorJob.Stage.DONE:
            assert time.monotonic() < deadline, EditorJob.objects.get(pk=processed.pk).stage
            time.sleep(0.1)
        page = browser.get("/editor/").text
        assert str(processed.pk) in page  # still in Recent
        assert _render(browser, processed, format="png").status_code == 200


def test_a_render_left_in_flight_by_a_dead_process_is_recovered(asgi_server, processed, funded_alice, settings):
    with _browser(asgi_server, funded_alice) as browser:
        EditorJob.objects.filter(pk=processed.pk).update(stage=EditorJob.Stage.COMPOSITING, updated_at=timezone.now())
        assert _render(browser, processed, format="png").status_code == 409  # maybe still running
        assert str(processed.pk) in browser.get("/editor/").text  # and still in Recent meanwhile
        old = timezone.now() - timedelta(seconds=2 * settings.EDITOR_RENDER_TIMEOUT + 1)
        EditorJob.objects.filter(pk=processed.pk).update(updated_at=old)
        response = _render(browser, processed, format="png")
    assert response.status_code == 200 and response.json()["stage"] == "done"


def test_one_user_cannot_hold_every_render_slot(asgi_server, processed, funded_alice, photo, slow_strokes,
                                                 settings):
    settings.EDITOR_RENDERS_PER_USER = 1
    other = job_processed(funded_alice, photo, fmt="png")
    started, gate = slow_strokes
    with _browser(asgi_server, funded_alice) as browser, threading_pool() as pool:
        first = pool.submit(_render, browser, processed, strokes=ERASE)
        assert started.wait(10)
        second = _render(browser, other, format="png")  # another of her images, meanwhile
        gate.set()
        assert first.result().status_code == 200
    assert second.status_code == 429 and second.headers["Retry-After"] == "1"
    assert second.json()["error"] == ("You already have renders in progress. Wait for one to finish, "
                                      "then try again.")


def threading_pool():
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(2)
