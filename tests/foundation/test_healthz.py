import pytest

pytestmark = pytest.mark.django_db


def test_it_reports_everything_ready(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok", "model": "ok",
                               "worker": "none alive"}  # no batch worker in this test: still 200


def test_it_is_503_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "down"
    assert response.json()["worker"] == "unknown"
    assert response.json()["database"] == "ok"


def test_it_is_503_when_the_model_is_missing(client, settings, tmp_path, monkeypatch):
    from core import health

    monkeypatch.setattr(health, "_model_verified", False)
    settings.U2NET_HOME = tmp_path
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["model"] == "down"


def test_it_reports_a_worker_heard_from_and_forgets_one_gone_silent(client, redis_client):
    import time

    from core.worker_heartbeat import STALE_AFTER, heartbeat_beat

    heartbeat_beat(name="w1@test", now=time.time() - STALE_AFTER - 1)  # killed a while ago
    assert client.get("/healthz").json()["worker"] == "none alive"
    heartbeat_beat(name="w2@test")
    response = client.get("/healthz")
    assert (response.status_code, response.json()["status"], response.json()["worker"]) == (200, "ok", "ok")
