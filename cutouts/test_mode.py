"""Test keys (`ck_test_…`, SPEC §7): real processing, never charged, small results.

A test key's cut-out runs the same pipeline as a live one, on every path that takes a key (/rmbg
and batch items alike: cutouts.service applies this), but its result is scaled down to fit
TEST_KEY_MAX_PIXELS (0.25 MP), measured after rotation. That it is never charged nor counted is
decided where the credit is reserved (billing.charge); its own short-term limit is in
billing/ratelimit.py; the API answers with `X-Test-Mode: true`.
"""

import math
from dataclasses import replace

from django.conf import settings

from removal.options import RemovalOptions
from removal.render import output_size


def _rotated_area(width: int, height: int, options: RemovalOptions) -> float:
    if not options.expand:
        return width * height  # rotation without expand keeps the canvas
    radians = math.radians(options.angle)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    return (width * cos + height * sin) * (width * sin + height * cos)


def test_mode_options(*, size: tuple[int, int], options: RemovalOptions) -> RemovalOptions:
    """`options`, with a smaller exact size when the result would exceed the test-mode limit."""
    width, height = output_size(size, options)
    area = _rotated_area(width, height, options)
    limit = settings.TEST_KEY_MAX_PIXELS
    if area <= limit:
        return options
    scale = math.sqrt(limit / area) * 0.99  # room for the canvas rounding of a rotation
    return replace(options, width=max(1, math.floor(width * scale)),
                   height=max(1, math.floor(height * scale)), exact_resize=True)
