"""Usage queries: the SPEC §3 `membership-usage` payloads and the daily series for the usage page."""

from datetime import UTC, date, datetime, timedelta

from billing import redis_client as rc
from billing.plans import plan_free
from billing.windows import Window, current_window, month_bounds, now_utc

MAX_UNIX = 253402300799  # 9999-12-31T23:59:59Z


def _state(user_id: int) -> dict:
    names = ["membership", "credits", "prepaid_credits", "billing_period_start", "billing_period_end"]
    values = rc.call(lambda r: r.mget([rc.user_key(user_id, n) for n in names]))
    state = dict(zip(names, values, strict=True))
    free = plan_free()
    return {
        "membership": state["membership"] or free.label,
        "credits": int(state["credits"]) if state["credits"] is not None else free.credits,
        "prepaid": int(state["prepaid_credits"] or 0),
        "period_start": int(state["billing_period_start"]) if state["billing_period_start"] else None,
        "period_end": int(state["billing_period_end"]) if state["billing_period_end"] else None,
    }


def _counts(keys: list[str]) -> list[int]:
    return [int(v or 0) for v in rc.call(lambda r: r.mget(keys))]


def _month_usage(user_id: int, year: int, month: int) -> tuple[int, int]:
    app, api = _counts([rc.usage_month_key(user_id, s, year, month) for s in ("app", "api")])
    return app, api


def _cycle_usage(user_id: int, start: int) -> tuple[int, int]:
    app, api = _counts([rc.usage_cycle_key(user_id, s, start) for s in ("app", "api")])
    return app, api


def _is_month_start(ts: int) -> bool:
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.day == 1 and moment.hour == 0 and moment.minute == 0 and moment.second == 0


def _cycle_starts(user_id: int, state: dict) -> list[int]:
    """Windows with a cycle usage key, plus the current Stripe period; newest first."""
    members = rc.call(lambda r: r.zrange(rc.user_key(user_id, "billing_cycles"), 0, -1))
    # Redis replies are str (decode_responses=True); redis-py types them bytes | str.
    starts = sorted({int(m) for m in members})  # type: ignore[arg-type]
    present = []
    if starts:
        keys = [rc.usage_cycle_key(user_id, s, start) for start in starts for s in ("app", "api")]
        exists = rc.call(lambda r: r.mget(keys))
        present = [start for i, start in enumerate(starts) if exists[2 * i] or exists[2 * i + 1]]
    if state["period_start"] is not None:
        present.append(state["period_start"])
    return sorted(set(present), reverse=True)


def _cycle_end(start: int, newer: int | None, state: dict) -> int:
    ends = []
    if newer is not None:
        ends.append(newer - 1)
    if start == state["period_start"] and state["period_end"] is not None:
        ends.append(state["period_end"])
    if not ends and _is_month_start(start):
        moment = datetime.fromtimestamp(start, tz=UTC)
        ends.append(month_bounds(moment.year, moment.month)[1])
    return min(ends) if ends else start


def billing_cycles_list(*, user_id: int) -> list[dict]:
    state = _state(user_id)
    starts = _cycle_starts(user_id, state)
    cycles = []
    for i, start in enumerate(starts):
        app, api = _cycle_usage(user_id, start)
        newer = starts[i - 1] if i > 0 else None
        cycles.append({"periodStartUnix": start, "periodEndUnix": _cycle_end(start, newer, state),
                       "appUsage": app, "apiUsage": api})
    return cycles


def _window_for_start(user_id: int, start: int, state: dict) -> Window:
    starts = _cycle_starts(user_id, state)
    newer = min((s for s in starts if s > start), default=None)
    synced = start == state["period_start"] or not _is_month_start(start)
    return Window(start, _cycle_end(start, newer, state), synced)


def _billing_cycle(user_id: int, window: Window, app: int, api: int, state: dict) -> dict:
    used = app + api
    return {
        "periodStartUnix": window.start, "periodEndUnix": window.end,
        "appUsage": app, "apiUsage": api,
        "includedCredits": state["credits"], "prepaidCredits": state["prepaid"],
        "usedIncludedCredits": used, "remainingIncludedCredits": max(0, state["credits"] - used),
        "stripeBillingSynced": window.synced,
    }


def membership_usage(*, user_id: int, year: int | None = None, month: int | None = None,
                     period_start: int | None = None, with_cycle: bool = False,
                     now: datetime | None = None) -> dict:
    """The `GET /api/membership-usage` payload: a calendar month (default: the current one) or, with
    `period_start`, that billing window; `with_cycle` adds the `billingCycle` object."""
    now = now_utc(now)
    state = _state(user_id)
    if period_start is not None:
        app, api = _cycle_usage(user_id, period_start)
    else:
        app, api = _month_usage(user_id, year or now.year, month or now.month)
    payload = {
        "membership": state["membership"], "credits": state["credits"], "prepaidCredits": state["prepaid"],
        "app_usage": app, "api_usage": api,
    }
    if with_cycle:
        payload["billingCycle"] = _billing_cycle_for(user_id, period_start, state, now)
    return payload


def _billing_cycle_for(user_id: int, period_start: int | None, state: dict, now: datetime) -> dict:
    if period_start is not None:
        window = _window_for_start(user_id, period_start, state)
        app, api = _cycle_usage(user_id, period_start)
    else:
        window = current_window(period_start=state["period_start"], period_end=state["period_end"], now=now)
        if window.synced:
            app, api = _cycle_usage(user_id, window.start)
        else:
            # the reserve script counts the calendar month by its month keys; show the same numbers
            app, api = _month_usage(user_id, now.year, now.month)
    return _billing_cycle(user_id, window, app, api, state)


def usage_daily(*, user_id: int, start: date, end: date) -> list[dict]:
    """Images per UTC day from `start` to `end` inclusive, for the usage page's chart."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    if not days:
        return []
    keys = [rc.usage_day_key(user_id, s, d.isoformat()) for d in days for s in ("app", "api")]
    counts = _counts(keys)
    return [
        {"date": d.isoformat(), "app": counts[2 * i], "api": counts[2 * i + 1]} for i, d in enumerate(days)
    ]
