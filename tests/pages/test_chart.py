"""billing.chart: the usage page's stacked daily bars as inline SVG."""

import re
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest

from billing.chart import LABEL_FONT, daily_usage_svg, nice_ceiling

NS = {"svg": "http://www.w3.org/2000/svg"}


def _days(*counts):
    return [{"date": f"2026-11-{i + 1:02d}", "app": app, "api": api} for i, (app, api) in enumerate(counts)]


@pytest.mark.parametrize(("value", "expected"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (200, 200),
                                                 (201, 500), (999, 1000)])
def test_it_rounds_the_axis_up_to_1_2_5_steps(value, expected):
    assert nice_ceiling(value) == expected


def test_it_draws_one_stacked_group_per_day():
    svg = ElementTree.fromstring(daily_usage_svg(_days((3, 1), (0, 0), (5, 5))))
    groups = svg.findall("svg:g[@class='day']", NS)
    assert [(g.get("data-date"), g.get("data-app"), g.get("data-api")) for g in groups] == [
        ("2026-11-01", "3", "1"), ("2026-11-02", "0", "0"), ("2026-11-03", "5", "5")]
    assert groups[0].get("aria-label") == "Sun 1 Nov 2026: 3 editor, 1 API, 4 in all"
    assert [g.get("tabindex") for g in groups] == ["-1", "-1", "0"]  # one tab stop: the newest day


def test_it_stacks_api_on_app_with_heights_in_proportion():
    svg = ElementTree.fromstring(daily_usage_svg(_days((4, 6), (2, 0)), height=240))
    first, second = svg.findall("svg:g[@class='day']", NS)
    app, api = (first.find(f"svg:rect[@class='{c}']", NS) for c in ("bar-app", "bar-api"))
    app_h, api_h = float(app.get("height")), float(api.get("height"))
    assert api_h == pytest.approx(app_h * 6 / 4, abs=0.2)
    assert float(api.get("y")) + api_h == pytest.approx(float(app.get("y")), abs=0.2)  # api sits on app
    second_app = second.find("svg:rect[@class='bar-app']", NS)
    assert float(second_app.get("height")) == pytest.approx(app_h / 2, abs=0.2)


def test_it_labels_the_axis_and_says_when_a_window_is_empty():
    svg = daily_usage_svg(_days((0, 0), (0, 0)))
    assert "No images in this window" in svg
    assert re.findall(r'class="tick"[^>]*>(\d+)<', svg) == ["0", "1"]
    assert "No days in this window yet" in daily_usage_svg([])


def test_it_escapes_text():
    svg = daily_usage_svg([{"date": "<script>", "app": 1, "api": 0}], title="a & b")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &amp; b" in svg
    ElementTree.fromstring(svg)  # well-formed


@pytest.mark.parametrize("count", [1, 7, 11, 30, 31, 60, 92])
def test_it_thins_day_labels_by_width_and_always_labels_the_newest_day(count):
    days = [{"date": (date(2026, 1, 1) + timedelta(days=i)).isoformat(), "app": 1, "api": 0} for i in range(count)]
    svg = ElementTree.fromstring(daily_usage_svg(days))
    labels = svg.findall("svg:text[@class='day-label']", NS)
    xs = [float(label.get("x")) for label in labels]
    widest = max(len(label.text) for label in labels) * LABEL_FONT * 0.62
    assert all(b - a >= widest for a, b in zip(xs, xs[1:], strict=False))
    assert labels[-1].text == _day(days[-1])
    assert len(labels) >= min(count, 4)


def _day(day):
    when = date.fromisoformat(day["date"])
    return f"{when:%b} {when.day}"
