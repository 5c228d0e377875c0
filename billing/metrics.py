"""Prometheus counters for credits, bumped by billing.quota once a commit or refund took effect.

Only the first commit/refund of a reservation counts (both are idempotent), so the counters
agree with the ledger. Refunds made by `sweep_reservations` run in their own process and are
not scraped; the ledger has them.
"""

from prometheus_client import Counter

CREDITS_CHARGED = Counter("cutout_credits_charged", "Credits charged (committed)", ["source", "bucket"])
CREDITS_REFUNDED = Counter("cutout_credits_refunded", "Credits refunded after a failure",
                           ["source", "bucket"])


def credit_charged(*, reservation) -> None:
    CREDITS_CHARGED.labels(source=reservation.source, bucket=reservation.bucket).inc()


def credit_refunded(*, reservation) -> None:
    CREDITS_REFUNDED.labels(source=reservation.source, bucket=reservation.bucket).inc()
