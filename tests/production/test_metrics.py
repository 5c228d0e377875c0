"""/metrics: off until protected, then a token or an allow-list; Prometheus text with the named
metrics, moved by a real /rmbg request and by billing's own commit and refund."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.multipart import form_data_body
from tests.production.conftest import png_bytes

pytestmark = pytest.mark.django_db

TOKEN = "t0ken-for-prometheus"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def protected(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW_IPS = []
    return settings


def samples(client) -> dict[tuple, float]:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_it_is_off_until_a_token_or_an_allow_list_is_set(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW_IPS = "", []
    response = client.get("/metrics", headers=AUTH)
    assert (response.status_code, response.json()) == (404, {"error": "Not found", "status": 404})


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_it_refuses_a_scrape_without_the_token(client, protected, headers):
    response = client.get("/metrics", headers=headers)
    assert (response.status_code, response.json()) == (403, {"error": "Forbidden", "status": 403})


def test_it_admits_an_allowed_network_without_a_token(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW_IPS = "", ["10.0.0.0/8", "127.0.0.1"]
    assert client.get("/metrics").status_code == 200  # the test client's peer is 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.9").status_code == 403
    # the peer counts, not what a client claims to be
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.9", headers={"X-Forwarded-For": "10.1.1.1"}).status_code == 403


def test_it_counts_a_real_rmbg_request_by_route_and_status(client, protected, alice):
    from accounts.services import api_key_create

    before = samples(client)
    body, ctype = form_data_body([], [("image", "p.png", png_bytes(), "image/png")])
    response = client.generic("POST", "/rmbg", body, content_type=ctype, headers={"x-api-key": api_key_create(user=alice, name="m")[1]})
    assert response.status_code == 200
    after = samples(client)

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    http = {"method": "POST", "route": "rmbg", "status": "200"}
    assert delta("cutout_http_requests_total", **http) == 1
    assert delta("cutout_http_request_duration_seconds_count", **http) == 1
    assert delta("cutout_images_processed_total", source="api") == 1
    assert delta("cutout_credits_charged_total", source="api", bucket="included") == 1
    names = {name for name, _ in after}
    assert {"cutout_pipeline_queue_depth", "cutout_pipeline_running", "cutout_pipeline_workers",
            "cutout_websocket_connections"} <= names
    assert "# TYPE cutout_credits_refunded_total counter" in client.get("/metrics", headers=AUTH).content.decode()
    assert after[("cutout_pipeline_workers", ())] >= 1
    # routes are URL patterns, never raw paths
    assert not any(dict(labels).get("route", "").startswith("/") for _, labels in after)


def test_it_counts_refunds_once(client, protected, alice):
    from billing import quota

    before = samples(client)
    reservation = quota.credits_reserve(user_id=alice.pk, source="app")
    assert quota.credits_refund(reservation=reservation)
    assert not quota.credits_refund(reservation=reservation)  # idempotent: counted once
    after = samples(client)
    key = ("cutout_credits_refunded_total", (("bucket", "included"), ("source", "app")))
    assert after[key] - before.get(key, 0) == 1


def test_it_labels_unknown_paths_as_one_route(client, protected):
    client.get("/no/such/page/1")
    client.get("/no/such/page/2")
    after = samples(client)
    assert after[("cutout_http_requests_total", (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))] >= 2


def test_it_labels_static_files_as_one_route(client, protected):
    assert client.get("/static/editor/editor.js").status_code == 200
    after = samples(client)
    assert after[("cutout_http_requests_total", (("method", "GET"), ("route", "<static>"), ("status", "200")))] >= 1
