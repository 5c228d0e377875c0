import pytest

pytestmark = pytest.mark.django_db


def test_it_reports_everything_ready(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok", "model": "ok"}


def test_it_is_503_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "down"
    assert response.json()["database"] == "ok"


def test_it_is_503_when_the_model_is_missing(client, settings, tmp_path, monkeypatch):
    from core import health

    monkeypatch.setattr(health, "_model_verified", False)
    settings.U2NET_HOME = tmp_path
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["model"] == "down"
