"""The usage page's daily chart: app and API images per day, stacked, as an inline SVG string.

Pure Python, no Django: the page needs no chart library, no CDN and no JavaScript to draw it
(static/billing/usage.js only adds the hover/focus tooltip). Input is `billing.usage.usage_daily()`'s
series; nothing here counts usage, it only draws it. The page also renders the same series as a
table for screen readers and for reading exact numbers.
"""

import math
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

APP_COLOUR = "#2f6fec"
API_COLOUR = "#f29d38"
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 28, 30  # plot margins in SVG units
LABEL_FONT = 12  # SVG units; the page never draws the chart below its natural size (it scrolls)
_DIGIT_EM = 0.62  # a sans-serif font's average letter or digit, in em: "Dec 31" is at most this wide
_LABEL_GAP = 8  # SVG units between two day labels
_LABEL_STEPS = (1, 2, 3, 7, 14, 28)


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ that is ≥ value (at least 1), so the axis has round ticks."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def _ticks(top: int) -> list[int]:
    """Evenly spaced whole ticks: a 1 or 5 ceiling in 5 steps (10 → 0, 2, … 10), a 2 in 4 (20 → 0, 5, …
    20); 1 and 2 get one tick per unit."""
    parts = 4 if str(top)[0] == "2" else 5
    if top < parts:
        return list(range(top + 1))
    return [top // parts * i for i in range(parts + 1)]


def label_every(*, slot: float, chars: int = 5) -> int:
    """Label every n-th day so that labels of `chars` characters (e.g. "Nov 29") never overlap."""
    need = chars * LABEL_FONT * _DIGIT_EM + _LABEL_GAP
    for every in _LABEL_STEPS:
        if every * slot >= need:
            return every
    return math.ceil(need / slot / 7) * 7


def _labelled(index: int, count: int, every: int) -> bool:
    # counted back from the newest day, so today always has its label and spacing stays even
    return (count - 1 - index) % every == 0


def _day_label(iso: str) -> str:
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day:%b} {day.day}"  # "Dec 1": "1/12" reads as January 12th in half the world


def day_long(iso: str) -> str:
    """"Mon 30 Nov 2026": the tooltip's and the table's date."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day:%a} {day.day} {day:%b %Y}"


def daily_usage_svg(days: Sequence[Mapping], *, width: int = 720, height: int = 240,
                    title: str = "Images per day") -> str:
    """An SVG bar chart of `days` ([{"date": "YYYY-MM-DD", "app": n, "api": n}, ...], oldest first).

    Each day is a `<g class="day">` with `data-date`, `data-app`, `data-api` and an `aria-label`,
    focusable (one tab stop; usage.js moves between days with the arrow keys); app is the lower bar,
    API stacked on top, and a transparent full-height rect makes empty days hoverable too. Colours
    are attributes, so it renders without CSS.
    """
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    peak = max((int(d["app"]) + int(d["api"]) for d in days), default=0)
    top = nice_ceiling(peak)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="usage-chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="group" aria-labelledby="usage-chart-title" '
        f'data-testid="usage-chart">',
        f'<title id="usage-chart-title">{escape(title)}</title>',
        _legend(),
    ]
    for tick in _ticks(top):
        y = _TOP + plot_h - plot_h * tick / top
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#e3e6eb" stroke-width="1"/>')
        parts.append(f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="{LABEL_FONT}" fill="#5b6270">{tick}</text>')
    if not days:
        parts.append(_note(width, height, "No days in this window yet"))
    else:
        parts.extend(_day_parts(days, plot_w, plot_h, top, height))
        if peak == 0:
            parts.append(_note(width, height, "No images in this window"))
    parts.append(f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h}" '
                 f'stroke="#5b6270" stroke-width="1"/>')
    parts.append("</svg>")
    return "".join(parts)


def _day_parts(days: Sequence[Mapping], plot_w: int, plot_h: int, top: int, height: int) -> list[str]:
    slot = plot_w / len(days)
    every = label_every(slot=slot, chars=max(len(_day_label(str(d["date"]))) for d in days))
    parts = []
    for i, day in enumerate(days):
        parts.append(_bar_group(day, _LEFT + i * slot, slot, plot_h, top, focusable=i == len(days) - 1))
        if _labelled(i, len(days), every):
            parts.append(f'<text class="day-label" x="{_LEFT + (i + .5) * slot:.1f}" '
                         f'y="{height - _BOTTOM + 17}" text-anchor="middle" font-size="{LABEL_FONT}" '
                         f'fill="#5b6270">'
                         f'{escape(_day_label(str(day["date"])))}</text>')
    return parts


def axis_svg(days: Sequence[Mapping], *, height: int = 240) -> str:
    """The y axis alone (ticks on a white ground), drawn over the left edge of the chart on a narrow
    screen, where the chart scrolls sideways: the scale stays in view (decorative: the chart's
    days say their numbers)."""
    plot_h = height - _TOP - _BOTTOM
    top = nice_ceiling(max((int(d["app"]) + int(d["api"]) for d in days), default=0))
    tall = _TOP + plot_h + 8  # down to the foot of the "0" tick label, above the day labels
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="usage-axis" viewBox="0 0 {_LEFT} {tall}" '
             f'width="{_LEFT}" height="{tall}" aria-hidden="true" focusable="false">',
             f'<rect width="{_LEFT}" height="{tall}" fill="#fff"/>']
    for tick in _ticks(top):
        y = _TOP + plot_h - plot_h * tick / top
        parts.append(f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="{LABEL_FONT}" fill="#5b6270">{tick}</text>')
    parts.append(f'<line x1="{_LEFT - .5}" x2="{_LEFT - .5}" y1="{_TOP}" y2="{_TOP + plot_h}" '
                 'stroke="#5b6270"/>')
    parts.append("</svg>")
    return "".join(parts)


def day_summary(day: Mapping) -> str:
    app, api = int(day["app"]), int(day["api"])
    return f"{day_long(str(day['date']))}: {app} editor, {api} API, {app + api} in all"


def _bar_group(day: Mapping, left: float, slot: float, plot_h: int, top: int, *, focusable: bool) -> str:
    app, api = int(day["app"]), int(day["api"])
    date = escape(str(day["date"]))
    base = _TOP + plot_h
    app_h, api_h = plot_h * app / top, plot_h * api / top
    bar = max(1.0, slot * 0.7)
    x = left + (slot - bar) / 2
    return (
        f'<g class="day" data-date="{date}" data-app="{app}" data-api="{api}" role="img" '
        f'aria-label="{escape(day_summary(day))}" tabindex="{0 if focusable else -1}">'
        f'<rect class="hit" x="{left:.1f}" y="{_TOP}" width="{slot:.1f}" height="{plot_h}" '
        'fill="transparent"/>'
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
