"""Form fields (strings) → typed `RemovalOptions`, collecting every field error at once.

Messages are SPEC §1's, exactly. Field order of the error list follows SPEC's field table.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import webcolors

from removal.errors import IMAGE_AND_URL, NO_FILE_SELECTED, NO_IMAGE_PROVIDED, echo
from removal.fields import FieldErrors, bool_parse
from removal.refine import REFINE_MODES
from removal.segment import DEFAULT_MODEL, models_installed
from removal.zoom import QUALITIES

MAX_SIDE = 10000
FORMATS = ("webp", "png", "jpeg", "bmp")
_FORMAT_ALIASES = {"jpg": "jpeg"}
_HEX = re.compile(r"#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})", re.IGNORECASE)

_MARGIN = re.compile(r"(-?\d+(?:\.\d+)?)\s*(px|%)?", re.IGNORECASE)
MAX_MARGIN_PX = 500
MAX_MARGIN_PERCENT = 50

RGBA = tuple[int, int, int, int]
# webcolors follows CSS3's 147 names on purpose; CSS Color 4 added exactly one more.
_CSS4_ADDITIONS = {"rebeccapurple": (102, 51, 153)}


@dataclass(frozen=True)
class RemovalOptions:
    format: str = "webp"
    width: int | None = None
    height: int | None = None
    exact_resize: bool = False
    mask: bool = False
    bg_color: RGBA | None = None
    angle: float = 0.0
    expand: bool = True
    return_base64: bool = False
    # SPEC §7 additions; the defaults are what a rembg.com call gets.
    refine: str = "none"
    crop: bool = False
    crop_margin: float = 0.0
    crop_margin_percent: bool = False  # crop_margin is % of the subject's width/height, else pixels
    model: str | None = None  # None: the server's model (REMBG_MODEL)
    quality: str = "normal"  # "high": a second model pass on the subject's box (removal.zoom)


def _parse_format(raw: str, errors: FieldErrors) -> str:
    value = raw.strip().lower()
    if not value:
        return "webp"
    value = _FORMAT_ALIASES.get(value, value)
    if value not in FORMATS:
        errors.add("format", f"Invalid format '{echo(raw)}'. Allowed formats: PNG, JPEG, WEBP, BMP")
        return "webp"
    return value


def _parse_side(field: str, raw: str, errors: FieldErrors) -> int | None:
    value = raw.strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        errors.add(field, f"'{field}' must be an integer, got: '{echo(raw)}'")
        return None
    if number == 0:  # rembg.js always sends w=0&h=0: means "unset"
        return None
    if number < 1:
        errors.add(field, f"'{field}' must be at least 1, got: {echo(number)}")
    elif number > MAX_SIDE:
        errors.add(field, f"'{field}' must be at most {MAX_SIDE}, got: {echo(number)}")
    else:
        return number
    return None


def _parse_bool(field: str, raw: str | None, default: bool, errors: FieldErrors) -> bool:
    try:
        return bool_parse(raw, default=default)
    except ValueError:
        errors.add(field, f"'{field}' must be a boolean (true/false/1/0/yes/no/on/off), got: '{echo(raw)}'")
        return default


def color_parse(raw: str) -> RGBA | None:
    """`#RGB`, `#RGBA`, `#RRGGBB`, `#RRGGBBAA` or a CSS named colour → RGBA; None if invalid."""
    value = raw.strip()
    if _HEX.fullmatch(value):
        digits = value[1:]
        if len(digits) <= 4:
            digits = "".join(ch * 2 for ch in digits)
        if len(digits) == 6:
            digits += "ff"
        r, g, b, a = (int(digits[i : i + 2], 16) for i in range(0, 8, 2))
        return (r, g, b, a)
    name = value.lower()
    if name in _CSS4_ADDITIONS:
        return (*_CSS4_ADDITIONS[name], 255)
    try:
        rgb = webcolors.name_to_rgb(name)
    except ValueError:
        return None
    return (rgb.red, rgb.green, rgb.blue, 255)


def _parse_color(raw: str, errors: FieldErrors) -> RGBA | None:
    if not raw.strip():
        return None
    color = color_parse(raw)
    if color is None:
        errors.add(
            "bg_color",
            f"Invalid color format '{echo(raw)}'. Use hex format: #RGB, #RGBA, #RRGGBB, or #RRGGBBAA",
        )
    return color


def _parse_angle(raw: str, errors: FieldErrors) -> float:
    value = raw.strip()
    if not value:
        return 0.0
    try:
        angle = float(value)
    except ValueError:
        angle = math.nan
    if not math.isfinite(angle):
        errors.add("angle", f"'angle' must be a number, got: '{echo(raw)}'")
        return 0.0
    if not -360 <= angle <= 360:
        errors.add("angle", f"'angle' must be between -360 and 360 degrees, got: {angle}")
        return 0.0
    return angle


def _parse_choice(field: str, raw: str, choices: tuple[str, ...], errors: FieldErrors) -> str:
    """One of `choices` (case-insensitive; empty: the first, the default)."""
    value = raw.strip().lower()
    if not value:
        return choices[0]
    if value not in choices:
        errors.add(field, f"Invalid {field} '{echo(raw)}'. Allowed values: {', '.join(choices)}")
        return choices[0]
    return value


def _parse_margin(raw: str, errors: FieldErrors) -> tuple[float, bool]:
    """`20`, `20px` or `10%` → (20, False) / (10, True); remove.bg's limits: 500 px or 50 %."""
    if not raw.strip():
        return 0.0, False
    match = _MARGIN.fullmatch(raw.strip())
    if match is None:
        errors.add("crop_margin", f"'crop_margin' must be pixels (0 to {MAX_MARGIN_PX}, e.g. 20 or 20px) "
                                  f"or a percentage (0% to {MAX_MARGIN_PERCENT}%), got: '{echo(raw)}'")
        return 0.0, False
    number, percent = float(match[1]), match[2] == "%"
    shown = f"{match[1]}{'%' if percent else ''}"
    if number < 0:
        errors.add("crop_margin", f"'crop_margin' must be at least 0, got: {shown}")
    elif number > (MAX_MARGIN_PERCENT if percent else MAX_MARGIN_PX):
        limit = f"{MAX_MARGIN_PERCENT}%" if percent else f"{MAX_MARGIN_PX} px"
        errors.add("crop_margin", f"'crop_margin' must be at most {limit}, got: {shown}")
    else:
        return number, percent
    return 0.0, False


def _parse_model(raw: str, errors: FieldErrors) -> str | None:
    """An installed model: u2netp always, any other only when its file is in U2NET_HOME."""
    value = raw.strip()
    if not value:
        return None
    if value == DEFAULT_MODEL:
        return DEFAULT_MODEL
    installed = sorted(set(models_installed()) | {DEFAULT_MODEL})
    if value not in installed:
        errors.add("model", f"Invalid model '{echo(raw)}'. Installed models: {', '.join(installed)}")
        return None
    return value


# Every option field a form may carry, in SPEC's order (what `_options_read` reads): the one list the
# editor, batch jobs and the OpenAPI documents take theirs from.
OPTION_FIELDS = ("format", "w", "h", "exact_resize", "mask", "bg_color", "angle", "expand", "return_base64",
                 "refine", "crop", "crop_margin", "model", "quality")


def _options_read(fields: Mapping[str, str], errors: FieldErrors) -> RemovalOptions:
    get = fields.get
    fmt = _parse_format(get("format") or "", errors)
    width = _parse_side("w", get("w") or "", errors)
    height = _parse_side("h", get("h") or "", errors)
    exact_resize = _parse_bool("exact_resize", get("exact_resize"), False, errors)
    mask = _parse_bool("mask", get("mask"), False, errors)
    bg_color = _parse_color(get("bg_color") or "", errors)
    if mask and bg_color is not None:
        errors.add("bg_color", "Cannot use 'mask=true' together with 'bg_color'. Choose one or the other.")
    angle = _parse_angle(get("angle") or "", errors)
    expand = _parse_bool("expand", get("expand"), True, errors)
    return_base64 = _parse_bool("return_base64", get("return_base64"), False, errors)
    refine = _parse_choice("refine", get("refine") or "", REFINE_MODES, errors)
    crop = _parse_bool("crop", get("crop"), False, errors)
    crop_margin, crop_margin_percent = _parse_margin(get("crop_margin") or "", errors)
    model = _parse_model(get("model") or "", errors)
    quality = _parse_choice("quality", get("quality") or "", QUALITIES, errors)
    return RemovalOptions(
        format=fmt, width=width, height=height, exact_resize=exact_resize, mask=mask,
        bg_color=bg_color, angle=angle, expand=expand, return_base64=return_base64,
        refine=refine, crop=crop, crop_margin=crop_margin, crop_margin_percent=crop_margin_percent,
        model=model, quality=quality,
    )


def options_parse(fields: Mapping[str, str]) -> RemovalOptions:
    """Parse raw form values. Raises ValidationFailed listing every invalid field."""
    errors = FieldErrors()
    options = _options_read(fields, errors)
    errors.raise_any()
    return options


def form_parse(
    fields: Mapping[str, str], *, image_present: bool, empty_file_input: bool = False, image_url: str = ""
) -> RemovalOptions:
    """A whole upload form: the `image` field's presence and every option, errors reported together.

    `empty_file_input` is what a browser sends for a file input left empty (a part with
    filename=""); SPEC answers it differently from a form with no image part at all.
    A non-empty `image_url` stands in for the image (SPEC §7): exactly one of the two.
    """
    errors = FieldErrors()
    url_present = bool(image_url.strip())
    if image_present and url_present:
        errors.add("image_url", IMAGE_AND_URL)
    elif not image_present and not url_present:
        errors.add("image", NO_FILE_SELECTED if empty_file_input else NO_IMAGE_PROVIDED)
    options = _options_read(fields, errors)
    errors.raise_any()
    return options
