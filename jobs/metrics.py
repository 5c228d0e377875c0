"""Batch metrics: the queue as the database sees it (any broker), and how long items take.

The gauges are refreshed at each /metrics scrape (core.metrics' scrape hook). The item histogram is
observed in the worker processes: it reaches /metrics when the workers share the web processes'
PROMETHEUS_MULTIPROC_DIR (same machine), else scrape them with your own exporter.
"""

from django.db.models import Count
from prometheus_client import Gauge, Histogram

from jobs.models import Item

BATCH_ITEMS = Gauge("cutout_batch_items", "Batch items waiting (queued) or in a worker's hands (running)",
                    ["status"], multiprocess_mode="mostrecent")
BATCH_ITEM_SECONDS = Histogram(
    "cutout_batch_item_duration_seconds", "Time a worker spent on one batch item", ["outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


def queue_gauges_refresh() -> None:
    unfinished = Item.objects.filter(status__in=("queued", "running")).order_by()  # no index in GROUP BY
    counts = dict(unfinished.values("status").annotate(n=Count("pk")).values_list("status", "n"))
    for status in ("queued", "running"):
        BATCH_ITEMS.labels(status=status).set(counts.get(status, 0))


def item_timed(*, outcome: str, seconds: float) -> None:
    BATCH_ITEM_SECONDS.labels(outcome=outcome).observe(seconds)
