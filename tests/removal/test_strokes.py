"""removal.strokes: erase/restore strokes on a full-resolution mask, with a soft edge."""

import json

import pytest
from PIL import Image

from removal.errors import ValidationFailed
from removal.strokes import INVALID_STROKES, strokes_apply, strokes_dump, strokes_parse


def _stroke(mode="erase", radius=10, hardness=1.0, points=((50, 50), (150, 50))):
    return {"mode": mode, "radius": radius, "hardness": hardness, "points": [list(p) for p in points]}


def test_it_erases_along_the_line_and_leaves_the_rest():
    mask = Image.new("L", (200, 100), 255)
    out = strokes_apply(mask, strokes_parse([_stroke()]))
    assert out.getpixel((100, 50)) == 0 and out.getpixel((50, 55)) == 0  # on the line, inside the radius
    assert out.getpixel((100, 70)) == 255 and out.getpixel((170, 50)) == 255  # outside it
    assert mask.getpixel((100, 50)) == 255  # the input is not changed


def test_it_restores_what_was_erased_in_order():
    mask = Image.new("L", (200, 100), 0)
    strokes = strokes_parse([_stroke("restore", radius=20), _stroke("erase", radius=5)])
    out = strokes_apply(mask, strokes)
    assert out.getpixel((100, 35)) == 255  # restored, outside the later erase
    assert out.getpixel((100, 50)) == 0  # the later erase wins where they overlap


def test_it_gives_a_soft_brush_a_falling_edge():
    mask = Image.new("L", (200, 100), 255)
    out = strokes_apply(mask, strokes_parse([_stroke(radius=20, hardness=0.0, points=[(100, 50)])]))
    values = [out.getpixel((100 + d, 50)) for d in (0, 5, 10, 15, 19, 25)]
    assert values == sorted(values) and values[0] < 20 and 60 < values[2] < 200 and values[-1] == 255


def test_it_keeps_a_slow_soft_stroke_as_light_as_a_fast_one():
    # Many points along the same line must not erase more than two: coverage is a maximum.
    mask = Image.new("L", (200, 100), 255)
    fast = strokes_apply(mask, strokes_parse([_stroke(hardness=0.2)]))
    slow_points = [(50 + i, 50) for i in range(101)]
    slow = strokes_apply(mask, strokes_parse([_stroke(hardness=0.2, points=slow_points)]))
    assert abs(fast.getpixel((100, 57)) - slow.getpixel((100, 57))) <= 1


def test_it_ignores_strokes_outside_the_image():
    mask = Image.new("L", (50, 50), 255)
    out = strokes_apply(mask, strokes_parse([_stroke(points=[(500, 500)])]))
    assert out.getextrema() == (255, 255)


def test_it_round_trips_through_json():
    strokes = strokes_parse(json.dumps([_stroke()]))
    assert strokes_parse(strokes_dump(strokes)) == strokes


@pytest.mark.parametrize("raw", ["nope", "{}", '[{"mode": "paint", "radius": 5, "points": [[1, 2]]}]',
                                 '[{"mode": "erase", "radius": 0, "points": [[1, 2]]}]',
                                 '[{"mode": "erase", "radius": 5, "points": []}]',
                                 '[{"mode": "erase", "radius": 5, "points": [["a", 2]]}]',
                                 '[{"mode": "erase", "radius": 5, "hardness": 2, "points": [[1, 2]]}]'])
def test_it_refuses_malformed_strokes(raw):
    with pytest.raises(ValidationFailed) as info:
        strokes_parse(raw)
    assert info.value.details == [{"field": "strokes", "message": INVALID_STROKES}]
