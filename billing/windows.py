"""Billing windows: the UTC calendar month, or the Stripe period once webhooks have written it.

The Lua reserve script in billing/quota.py makes the same decision inside Redis; keep both in step.
"""

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Window:
    start: int  # unix seconds, first second of the window
    end: int  # unix seconds, last second (next window's start − 1)
    synced: bool  # True = the Stripe period, False = the UTC calendar month


def now_utc(now: datetime | None = None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("billing needs aware datetimes")
    return now.astimezone(UTC)


def month_bounds(year: int, month: int) -> tuple[int, int]:
    start = datetime(year, month, 1, tzinfo=UTC)
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp()), int(following.timestamp()) - 1


def month_window(now: datetime) -> Window:
    start, end = month_bounds(now.year, now.month)
    return Window(start, end, False)


def current_window(*, period_start: int | None, period_end: int | None, now: datetime) -> Window:
    """The Stripe period when one is stored and `now` lies inside it, else the calendar month.

    A period that has ended (renewal not yet received) falls back to the calendar month, exactly as
    the reserve script does, so the usage page shows the window credits are really drawn from.
    """
    ts = int(now.timestamp())
    if period_start is not None and period_end is not None and period_start <= ts <= period_end:
        return Window(period_start, period_end, True)
    return month_window(now)
