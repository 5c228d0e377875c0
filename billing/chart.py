"""The usage page's daily chart: app and API images per day, stacked, as an inline SVG string.

Pure Python, no Django: the page needs no chart library, no CDN and no JavaScript to draw it.
Input is `billing.usage.usage_daily()`'s series; nothing here counts usage, it only draws it.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

APP_COLOUR = "#2f6fec"
API_COLOUR = "#f29d38"
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 28, 30  # plot margins in SVG units


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ that is ≥ value (at least 1), so the axis has round ticks."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def _ticks(top: int) -> list[int]:
    # 1-2-5 ceilings split into 4 (or 5 for a 5) whole steps; tiny scales get one tick per unit
    parts = 5 if str(top)[0] == "5" else 4
    if top < parts:
        return list(range(top + 1))
    return [top * i // parts for i in range(parts + 1)]


def _label_every(days: int) -> int:
    for every in (1, 2, 7, 14):
        if days / every <= 16:
            return every
    return 30


def _day_label(iso: str) -> str:
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day}/{day.month}"


def daily_usage_svg(days: Sequence[Mapping], *, width: int = 720, height: int = 240,
                    title: str = "Images per day") -> str:
    """An SVG bar chart of `days` ([{"date": "YYYY-MM-DD", "app": n, "api": n}, ...], oldest first).

    Each day is a `<g class="day">` with `data-date`, `data-app`, `data-api` and a `<title>` tooltip;
    app is the lower bar, API stacked on top. Colours are attributes, so it renders without CSS.
    """
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    peak = max((int(d["app"]) + int(d["api"]) for d in days), default=0)
    top = nice_ceiling(peak)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="usage-chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="usage-chart-title" data-testid="usage-chart">',
        f'<title id="usage-chart-title">{escape(title)}</title>',
        _legend(),
    ]
    for tick in _ticks(top):
        y = _TOP + plot_h - plot_h * tick / top
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#e3e6eb" stroke-width="1"/>')
        parts.append(f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="11" fill="#5b6270">{tick}</text>')
    if not days:
        parts.append(_note(width, height, "No days in this window yet"))
    else:
        slot = plot_w / len(days)
        bar = max(1.0, slot * 0.7)
        every = _label_every(len(days))
        for i, day in enumerate(days):
            x = _LEFT + i * slot + (slot - bar) / 2
            parts.append(_bar_group(day, x, bar, plot_h, top))
            if i % every == 0 or i == len(days) - 1:
                parts.append(f'<text class="day-label" x="{x + bar / 2:.1f}" y="{height - _BOTTOM + 16}" '
                             f'text-anchor="middle" font-size="11" fill="#5b6270">'
                             f'{escape(_day_label(str(day["date"])))}</text>')
        if peak == 0:
            parts.append(_note(width, height, "No images in this window"))
    parts.append(f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h}" '
                 f'stroke="#5b6270" stroke-width="1"/>')
    parts.append("</svg>")
    return "".join(parts)


def _bar_group(day: Mapping, x: float, bar: float, plot_h: int, top: int) -> str:
    app, api = int(day["app"]), int(day["api"])
    date = escape(str(day["date"]))
    base = _TOP + plot_h
    app_h, api_h = plot_h * app / top, plot_h * api / top
    return (
        f'<g class="day" data-date="{date}" data-app="{app}" data-api="{api}">'
        f"<title>{date}: {app} app, {api} API</title>"
        f'<rect class="bar-app" x="{x:.1f}" y="{base - app_h:.1f}" width="{bar:.1f}" height="{app_h:.1f}" '
        f'fill="{APP_COLOUR}"/>'
        f'<rect class="bar-api" x="{x:.1f}" y="{base - app_h - api_h:.1f}" width="{bar:.1f}" '
        f'height="{api_h:.1f}" fill="{API_COLOUR}"/>'
        "</g>"
    )


def _legend() -> str:
    return (
        f'<g class="legend" font-size="12" fill="#1d1f23">'
        f'<rect x="{_LEFT}" y="6" width="12" height="12" fill="{APP_COLOUR}"/>'
        f'<text x="{_LEFT + 17}" y="16">Editor (app)</text>'
        f'<rect x="{_LEFT + 110}" y="6" width="12" height="12" fill="{API_COLOUR}"/>'
        f'<text x="{_LEFT + 127}" y="16">API</text>'
        "</g>"
    )


def _note(width: int, height: int, text: str) -> str:
    return (f'<text class="empty" x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
            f'font-size="13" fill="#5b6270">{escape(text)}</text>')
