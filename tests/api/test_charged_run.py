"""The charged run's one rule, over a Redis the test kills: a delivered image is charged, an
undelivered one is not, and the ledger row decides (billing/charge.py, billing/sweep.py)."""

from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.core.management import call_command
from django.db import DatabaseError

from billing import ledger, sweep
from billing.models import LedgerEntry
from tests.api.test_rmbg import post

pytestmark = pytest.mark.django_db(transaction=True)


def _month_usage(server, user, source="api") -> int:
    now = datetime.now(UTC)
    return int(redis.Redis.from_url(server.url).get(f"user:{user.id}:{source}_usage:{now.year}:{now.month}") or 0)


@pytest.fixture
def redis_dies_after_render(monkeypatch, private_redis):
    """Failure injection at the pipeline's boundary: the image is made, then Redis goes away."""
    from removal import pipeline

    real = pipeline.cutout_make

    async def cutout_then_kill(*args, **kwargs):
        cutout = await real(*args, **kwargs)
        private_redis.stop()
        return cutout

    monkeypatch.setattr(pipeline, "cutout_make", cutout_then_kill)
    return private_redis


def test_it_delivers_and_charges_when_redis_dies_between_render_and_commit(
        client, alice, api_key_for, small_png, redis_dies_after_render):
    key = api_key_for(alice)
    response = post(client, small_png, name="a.png", headers={"x-api-key": key})
    assert response.status_code == 200
    assert response["X-Credits-Charged"] == "1"
    assert LedgerEntry.objects.get(user=alice, kind="charge").state == "committed"
    # Redis comes back empty (no persistence): the rebuild counts the delivered image, once
    redis_dies_after_render.start()
    call_command("rebuild_usage")
    assert _month_usage(redis_dies_after_render, alice) == 1
    assert sweep.reservations_sweep(now=datetime.now(UTC) + timedelta(hours=1)) == 0


def test_it_settles_redis_from_the_ledger_when_redis_comes_back_with_its_data(
        client, alice, api_key_for, small_png, monkeypatch, private_redis):
    from billing import quota

    def redis_unreachable(reservation):
        raise quota.BillingUnavailable()

    monkeypatch.setattr(quota, "commit_redis", redis_unreachable)  # Redis missed the commit only
    assert post(client, small_png, name="a.png", headers={"x-api-key": api_key_for(alice)}).status_code == 200
    monkeypatch.undo()
    assert sweep.reservations_sweep(now=datetime.now(UTC) + timedelta(hours=1)) == 0  # not refunded
    assert _month_usage(private_redis, alice) == 1
    pending = redis.Redis.from_url(private_redis.url).zcard("billing:reservations:pending")
    assert pending == 0


def test_it_refunds_a_reservation_whose_worker_died_after_rendering(alice, private_redis, settings):
    from billing import quota

    settings.BILLING_RESERVATION_TIMEOUT = 60
    reservation = quota.credits_reserve(user_id=alice.pk, source="api")
    # ... the image was made, then the process was killed before it could commit
    assert sweep.reservations_sweep() == 0  # not due yet
    assert sweep.reservations_sweep(now=datetime.now(UTC) + timedelta(seconds=61)) == 1
    assert LedgerEntry.objects.get(idempotency_key=reservation.charge_key).state == "refunded"
    assert _month_usage(private_redis, alice) == 0
    call_command("rebuild_usage")
    assert _month_usage(private_redis, alice) == 0


def test_it_refunds_from_the_ledger_when_redis_lost_the_reservation(alice, private_redis, settings):
    from billing import quota

    settings.BILLING_RESERVATION_TIMEOUT = 60
    reservation = quota.credits_reserve(user_id=alice.pk, source="api")
    private_redis.stop()  # the worker and Redis both die; Redis restarts with nothing
    private_redis.start()
    sweep.reservations_sweep(now=datetime.now(UTC) + timedelta(seconds=61))
    assert LedgerEntry.objects.get(idempotency_key=reservation.charge_key).state == "refunded"
    call_command("rebuild_usage")
    assert _month_usage(private_redis, alice) == 0  # a reservation never committed is never counted


def test_it_delivers_nothing_when_the_commit_cannot_be_recorded(
        client, alice, api_key_for, small_png, monkeypatch, private_redis):
    real = ledger.charge_settle

    def database_down_for_commits(*, reservation, state):
        if state == LedgerEntry.State.COMMITTED:
            raise DatabaseError("connection lost")
        return real(reservation=reservation, state=state)

    monkeypatch.setattr(ledger, "charge_settle", database_down_for_commits)
    response = post(client, small_png, name="a.png", headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 503
    assert response.json()["error"] == "Service temporarily unavailable, please retry shortly."
    assert LedgerEntry.objects.get(user=alice, kind="charge").state == "refunded"
    assert _month_usage(private_redis, alice) == 0


def test_it_follows_the_same_rule_for_an_editor_upload(alice, redis_dies_after_render):
    from tests.editor.conftest import logged_in, photo_bytes, upload_form

    response = logged_in(alice).post("/editor/jobs/", upload_form(photo_bytes(256)))
    assert response.status_code == 200, response.content
    assert response.json()["stage"] == "done" and response.json()["charged"] is True
    assert LedgerEntry.objects.get(user=alice, kind="charge", source="app").state == "committed"
