"""The editor websocket through the real ASGI application: origin check, session auth, relaying."""

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from editor.progress import user_group

from .conftest import async_logged_in, fund, logged_in, session_cookie, upload_form, ws_communicator

pytestmark = pytest.mark.django_db(transaction=True)

STAGES = ["received", "queued", "segmenting", "compositing", "encoding", "done"]


async def _connected(user):
    communicator = ws_communicator(cookie=await sync_to_async(lambda: session_cookie(logged_in(user)))())
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _events(communicator, until=("done", "error")) -> list[dict]:
    events = []
    while not events or events[-1]["stage"] not in until:
        events.append(await communicator.receive_json_from(timeout=30))
    return events


async def test_it_relays_the_owners_stages_in_order_for_a_real_job(funded_alice, bob, photo):
    alice_ws, bob_ws = await _connected(funded_alice), await _connected(bob)
    client = await sync_to_async(async_logged_in)(funded_alice)

    response = await client.post("/editor/jobs/", upload_form(photo, ref="tab-1"))

    assert response.status_code == 200
    job_id = response.json()["id"]
    events = await _events(alice_ws)
    assert [e["stage"] for e in events] == STAGES
    assert {e["job"] for e in events} == {job_id} and {e["ref"] for e in events} == {"tab-1"}
    assert events[-1]["state"]["result"]["url"] == response.json()["result"]["url"]
    assert await bob_ws.receive_nothing(timeout=0.5)  # another user hears nothing of alice's jobs
    await alice_ws.disconnect()
    await bob_ws.disconnect()


async def test_it_relays_the_rerender_stages_without_segmenting(funded_alice, photo):
    client = await sync_to_async(async_logged_in)(funded_alice)
    job_id = (await client.post("/editor/jobs/", upload_form(photo))).json()["id"]
    ws = await _connected(funded_alice)

    response = await client.post(f"/editor/jobs/{job_id}/render/", {"bg_color": "red", "ref": "r2"})

    assert response.status_code == 200
    assert [e["stage"] for e in await _events(ws)] == ["queued", "compositing", "encoding", "done"]
    await ws.disconnect()


async def test_it_relays_an_error_stage(alice, photo):
    await sync_to_async(fund)(alice, credits=0)
    ws = await _connected(alice)
    client = await sync_to_async(async_logged_in)(alice)
    response = await client.post("/editor/jobs/", upload_form(photo))
    assert response.status_code == 429
    events = await _events(ws)
    assert [e["stage"] for e in events] == ["received", "queued", "error"]
    assert events[-1]["error"] == "You've reached your monthly limit. Consider purchasing more credits."
    await ws.disconnect()


async def test_it_refuses_anonymous():
    connected, code = await ws_communicator().connect()
    assert not connected


async def test_it_refuses_a_foreign_origin(alice):
    cookie = await sync_to_async(lambda: session_cookie(logged_in(alice)))()
    communicator = ws_communicator(cookie=cookie, origin=b"https://evil.example")
    connected, _ = await communicator.connect()
    assert not connected


async def test_it_refuses_a_missing_origin(alice):
    cookie = await sync_to_async(lambda: session_cookie(logged_in(alice)))()
    connected, _ = await ws_communicator(cookie=cookie, origin=None).connect()
    assert not connected


async def test_it_ignores_what_the_page_sends_and_only_relays_its_group(alice, bob):
    ws = await _connected(alice)
    await ws.send_json_to({"subscribe": f"user:{bob.pk}"})
    await get_channel_layer().group_send(user_group(bob.pk), {"type": "job.progress", "job": "x",
                                                              "stage": "done"})
    assert await ws.receive_nothing(timeout=0.5)
    await get_channel_layer().group_send(user_group(alice.pk), {"type": "job.progress", "job": "y",
                                                                "stage": "queued"})
    assert await ws.receive_json_from(timeout=5) == {"job": "y", "stage": "queued"}
    await ws.disconnect()
