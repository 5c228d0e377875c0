"""Two server processes (`python -m config.serve`) on different ports, sharing one database file
and one Redis: credits are never overspent under concurrent load through both, and progress of a
job uploaded through one reaches the editor websocket held by the other."""

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
from websockets.sync.client import connect

from tests.production.conftest import CREDITS, PASSWORD, png_bytes

NO_CREDITS = "You've reached your monthly limit. Consider purchasing more credits."
REQUESTS = CREDITS * 2 + 2


def _rmbg(url: str, key: str, seed: int) -> httpx.Response:
    files = {"image": (f"p{seed}.png", png_bytes(seed), "image/png")}
    return httpx.post(f"{url}/rmbg", files=files, headers={"x-api-key": key}, timeout=120)


def test_it_never_spends_more_credits_than_the_balance_across_processes(deployment, redis_client):
    user_id, key = deployment.user_create("alice@example.com")
    a, b = deployment.urls
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda i: _rmbg((a, b)[i % 2], key, i), range(REQUESTS)))

    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert len(ok) == CREDITS
    assert {r.status_code for r in refused} == {429}
    assert {r.json()["error"] for r in refused} == {NO_CREDITS}
    assert all(r.headers["X-Credits-Charged"] == "1" for r in ok)
    assert {str(r.url).rsplit("/", 1)[0] for r in responses} == {a, b}
    # the shared counter and the shared ledger say exactly the balance
    now = datetime.now(UTC)
    assert int(redis_client.get(f"user:{user_id}:api_usage:{now.year}:{now.month}")) == CREDITS
    ledger = deployment.manage(
        "shell", "-v", "0", "-c",
        f"from billing.models import LedgerEntry; print(LedgerEntry.objects.filter(user_id={user_id}).count())")
    assert int(ledger) == CREDITS  # one charge row per image, none for the refusals


def _login(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120)
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post("/accounts/login/", data={"csrfmiddlewaretoken": token, "login": "bob@example.com",
                                                     "password": PASSWORD})
    assert response.status_code == 302, response.text
    assert "sessionid" in client.cookies
    return client


def test_it_relays_progress_of_a_job_uploaded_through_the_other_process(deployment):
    deployment.user_create("bob@example.com")
    a, b = deployment.urls
    on_a, on_b = _login(a), _login(b)
    port_a = a.rsplit(":", 1)[1]
    events: list[dict] = []
    done = threading.Event()

    with connect(f"ws://127.0.0.1:{port_a}/ws/editor/", origin=f"http://127.0.0.1:{port_a}",
                 additional_headers={"Cookie": f"sessionid={on_a.cookies['sessionid']}"}) as ws:
        metrics = on_a.get("/metrics", headers={"Authorization": "Bearer metrics-secret"}).text
        assert "cutout_websocket_connections 1.0" in metrics

        def listen():
            for message in ws:
                events.append(json.loads(message))
                if events[-1]["stage"] in ("done", "error"):
                    done.set()
                    return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        upload = on_b.post("/editor/jobs/", files={"image": ("bob.png", png_bytes(3), "image/png")},
                           data={"ref": "from-b"}, headers={"X-CSRFToken": on_b.cookies["csrftoken"]})
        assert upload.status_code == 200, upload.text
        job = upload.json()
        assert job["stage"] == "done"
        assert done.wait(60)

    assert {event["job"] for event in events} == {job["id"]}
    assert {event["ref"] for event in events} == {"from-b"}
    stages = [event["stage"] for event in events]
    assert stages[:2] == ["received", "queued"]
    assert stages[-1] == "done"
    assert {"segmenting", "compositing", "encoding"} <= set(stages)
    assert events[-1]["state"]["result"]["url"] == job["result"]["url"]
