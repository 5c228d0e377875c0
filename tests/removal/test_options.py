"""removal.options: every SPEC §1 field rule, exact messages, all errors at once."""

import pytest

from removal.errors import ValidationFailed
from removal.options import RemovalOptions, options_parse


def _error(fields: dict) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        options_parse(fields)
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize(
    "fields,field,message",
    [
        ({"w": "abc"}, "w", "'w' must be an integer, got: 'abc'"),
        ({"h": "1.5"}, "h", "'h' must be an integer, got: '1.5'"),
        ({"w": "-5"}, "w", "'w' must be at least 1, got: -5"),
        ({"h": "-5"}, "h", "'h' must be at least 1, got: -5"),
        ({"w": "15000"}, "w", "'w' must be at most 10000, got: 15000"),
        ({"h": "15000"}, "h", "'h' must be at most 10000, got: 15000"),
        ({"angle": "ninety"}, "angle", "'angle' must be a number, got: 'ninety'"),
        ({"angle": "500"}, "angle", "'angle' must be between -360 and 360 degrees, got: 500.0"),
        ({"angle": "-360.5"}, "angle", "'angle' must be between -360 and 360 degrees, got: -360.5"),
        ({"format": "gif"}, "format", "Invalid format 'gif'. Allowed formats: PNG, JPEG, WEBP, BMP"),
        ({"bg_color": "#12345"}, "bg_color",
         "Invalid color format '#12345'. Use hex format: #RGB, #RGBA, #RRGGBB, or #RRGGBBAA"),
        ({"bg_color": "notacolor"}, "bg_color",
         "Invalid color format 'notacolor'. Use hex format: #RGB, #RGBA, #RRGGBB, or #RRGGBBAA"),
        ({"mask": "true", "bg_color": "red"}, "bg_color",
         "Cannot use 'mask=true' together with 'bg_color'. Choose one or the other."),
    ],
)
def test_it_rejects_each_spec_row_with_its_exact_message(fields, field, message):
    error = _error(fields)
    assert error.message == message
    assert error.details == [{"field": field, "message": message}]


def test_it_reports_every_error_together_in_field_order():
    error = _error({"angle": "500", "w": "abc", "format": "gif", "h": "-1", "bg_color": "#1"})
    assert error.message == "Multiple validation errors"
    assert [d["field"] for d in error.details] == ["format", "w", "h", "bg_color", "angle"]
    assert error.details[1]["message"] == "'w' must be an integer, got: 'abc'"
    assert error.details[4]["message"] == "'angle' must be between -360 and 360 degrees, got: 500.0"


def test_it_refuses_a_boolean_it_cannot_read():
    error = _error({"mask": "maybe", "expand": "2"})
    assert [d["field"] for d in error.details] == ["mask", "expand"]


def test_it_uses_the_defaults_for_empty_fields():
    assert options_parse({}) == RemovalOptions()
    blank = {"w": "", "h": "", "format": "", "bg_color": "", "angle": "", "mask": "", "expand": ""}
    assert options_parse(blank) == RemovalOptions(format="webp", expand=True)


def test_it_treats_zero_sizes_as_unset_like_rembg_js():
    options = options_parse({"w": "0", "h": "0", "return_base64": "true"})
    assert (options.width, options.height, options.return_base64) == (None, None, True)


@pytest.mark.parametrize("raw,expected", [("PNG", "png"), ("jpg", "jpeg"), ("JPEG", "jpeg"),
                                          ("WebP", "webp"), ("bmp", "bmp")])
def test_it_reads_formats_case_insensitively(raw, expected):
    assert options_parse({"format": raw}).format == expected


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("#f00", (255, 0, 0, 255)),
        ("#f008", (255, 0, 0, 136)),
        ("#00FF00", (0, 255, 0, 255)),
        ("#0000ff80", (0, 0, 255, 128)),
        ("red", (255, 0, 0, 255)),
        ("RebeccaPurple", (102, 51, 153, 255)),
        ("lightgoldenrodyellow", (250, 250, 210, 255)),
    ],
)
def test_it_reads_hex_and_css_named_colours(raw, expected):
    assert options_parse({"bg_color": raw}).bg_color == expected


@pytest.mark.parametrize("raw,expected", [("true", True), ("YES", True), ("1", True), ("on", True),
                                          ("false", False), ("No", False), ("0", False), ("OFF", False)])
def test_it_reads_booleans(raw, expected):
    options = options_parse({"mask": raw, "exact_resize": raw, "expand": raw})
    assert (options.mask, options.exact_resize, options.expand) == (expected, expected, expected)


def test_it_reads_the_quality_normal_by_default():
    assert options_parse({}).quality == "normal"
    assert options_parse({"quality": " High "}).quality == "high"


def test_it_reads_sizes_angle_and_ignores_unknown_fields():
    options = options_parse({"w": "800", "h": "600", "angle": "-90.5", "colour": "x", "image": "y"})
    assert (options.width, options.height, options.angle) == (800, 600, -90.5)


@pytest.mark.parametrize(
    "fields,field,message",
    [
        ({"refine": "guided"}, "refine", "Invalid refine 'guided'. Allowed values: none, matting"),
        ({"quality": "best"}, "quality", "Invalid quality 'best'. Allowed values: normal, high"),
        ({"crop": "sure"}, "crop", "'crop' must be a boolean (true/false/1/0/yes/no/on/off), got: 'sure'"),
        ({"crop_margin": "501"}, "crop_margin", "'crop_margin' must be at most 500 px, got: 501"),
        ({"crop_margin": "51%"}, "crop_margin", "'crop_margin' must be at most 50%, got: 51%"),
        ({"crop_margin": "-1"}, "crop_margin", "'crop_margin' must be at least 0, got: -1"),
        ({"crop_margin": "wide"}, "crop_margin",
         "'crop_margin' must be pixels (0 to 500, e.g. 20 or 20px) or a percentage (0% to 50%), got: 'wide'"),
    ],
)
def test_it_rejects_each_new_field_with_its_message(fields, field, message):
    error = _error(fields)
    assert error.details == [{"field": field, "message": message}]


def test_it_reports_new_field_errors_together_with_the_others():
    error = _error({"w": "abc", "refine": "x", "crop_margin": "900", "model": "nope"})
    assert error.message == "Multiple validation errors"
    assert [d["field"] for d in error.details] == ["w", "refine", "crop_margin", "model"]


@pytest.mark.parametrize(
    "raw,value,percent",
    [("", 0.0, False), ("0", 0.0, False), ("20", 20.0, False), ("20px", 20.0, False), ("500", 500.0, False),
     ("10%", 10.0, True), ("12.5%", 12.5, True), ("50%", 50.0, True)],
)
def test_it_reads_a_crop_margin_in_pixels_or_percent(raw, value, percent):
    options = options_parse({"crop": "true", "crop_margin": raw})
    assert (options.crop, options.crop_margin, options.crop_margin_percent) == (True, value, percent)


def test_it_keeps_todays_behaviour_by_default():
    options = options_parse({"refine": "", "crop": "", "crop_margin": "", "model": ""})
    assert options == RemovalOptions()
    assert (options.refine, options.crop, options.model) == ("none", False, None)  # None: the server's model


def test_it_accepts_only_installed_models_and_lists_them(tmp_path, monkeypatch):
    from tests.removal.conftest import MODEL_HOME

    for name in ("u2netp", "u2net_human_seg"):
        (tmp_path / f"{name}.onnx").symlink_to(MODEL_HOME / "u2netp.onnx")
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))
    assert options_parse({"model": "u2net_human_seg"}).model == "u2net_human_seg"
    error = _error({"model": "isnet-general-use"})
    assert error.details == [{"field": "model", "message":
                              "Invalid model 'isnet-general-use'. Installed models: u2net_human_seg, u2netp"}]
