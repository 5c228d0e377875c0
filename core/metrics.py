"""Prometheus metrics at /metrics: HTTP traffic, images, pool load, websockets (credits: billing.metrics).

Several processes (`python -m config.serve --workers N`) each count on their own; with
PROMETHEUS_MULTIPROC_DIR set (the launcher sets it when N > 1) prometheus_client keeps the values
in files there and /metrics, answered by any one process, adds them up. The directory must be
emptied before the processes start (the launcher does it).

/metrics is off (404) until METRICS_TOKEN or METRICS_ALLOW_IPS is set; then a scrape needs
`Authorization: Bearer <token>` or a peer address in the allow-list, else 403.
"""

import hmac
import ipaddress
import os
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)
from prometheus_client.exposition import choose_encoder

from core.middleware import AroundMiddleware
from removal.pool import pool_stats

UNMATCHED = "<unmatched>"  # requests no URL pattern matched share one label: no cardinality blow-up
STATIC = "<static>"  # files whitenoise answered before URL resolution

HTTP_REQUESTS = Counter("cutout_http_requests", "HTTP requests answered", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "cutout_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
IMAGES_PROCESSED = Counter("cutout_images_processed", "Images whose background was removed", ["source"])
POOL_QUEUED = Gauge("cutout_pipeline_queue_depth", "Pipeline jobs waiting for a worker thread",
                    multiprocess_mode="livesum")
POOL_RUNNING = Gauge("cutout_pipeline_running", "Pipeline jobs running now", multiprocess_mode="livesum")
POOL_WORKERS = Gauge("cutout_pipeline_workers", "Pipeline worker threads", multiprocess_mode="livesum")
WEBSOCKETS = Gauge("cutout_websocket_connections", "Open editor websockets", multiprocess_mode="livesum")


# Apps with gauges read at scrape time (the batch queue in the database) register a refresher here.
_SCRAPE_HOOKS: list = []


def scrape_hook_add(hook) -> None:
    """Call `hook()` before each /metrics answer (registered once, from an AppConfig.ready)."""
    if hook not in _SCRAPE_HOOKS:
        _SCRAPE_HOOKS.append(hook)


def image_processed(*, source: str) -> None:
    """One image made for an `api`, `app` or `anonymous` caller."""
    IMAGES_PROCESSED.labels(source=source).inc()


def pool_gauges_refresh() -> None:
    stats = pool_stats()
    POOL_QUEUED.set(stats.queued)
    POOL_RUNNING.set(stats.running)
    POOL_WORKERS.set(stats.workers)


def _static_prefix() -> str:
    return "/" + settings.STATIC_URL.lstrip("/")


def _registry():
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def _allowed_ip(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOW_IPS)


def _authorized(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    # The peer itself, never X-Forwarded-For: Prometheus scrapes each process directly.
    return bool(settings.METRICS_ALLOW_IPS) and _allowed_ip(request.META.get("REMOTE_ADDR", ""))


def metrics_view(request):
    if not (settings.METRICS_TOKEN or settings.METRICS_ALLOW_IPS):
        return JsonResponse({"error": "Not found", "status": 404}, status=404)
    if not _authorized(request):
        return JsonResponse({"error": "Forbidden", "status": 403}, status=403)
    pool_gauges_refresh()
    for hook in _SCRAPE_HOOKS:
        hook()
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))  # text or OpenMetrics
    return HttpResponse(encoder(_registry()), content_type=content_type)


class MetricsMiddleware(AroundMiddleware):
    """Counts and times every response by method, URL route (the pattern, not the path) and status."""

    def before(self, request):
        return time.perf_counter()

    def after(self, request, response, started: float):
        match = getattr(request, "resolver_match", None)
        route = match.route if match else STATIC if request.path.startswith(_static_prefix()) else UNMATCHED
        labels = {"method": request.method, "route": route, "status": str(response.status_code)}
        HTTP_REQUESTS.labels(**labels).inc()
        HTTP_LATENCY.labels(**labels).observe(time.perf_counter() - started)
        # In multi-process mode a scrape reads every process's last value: keep this one's fresh.
        pool_gauges_refresh()
        return response
