"""One test per SPEC §1 validation row: status and exact message, in the JSON error shape."""

import io

import pytest
from PIL import Image

from tests.api.multipart import empty_file_input_body, form_data_body

pytestmark = pytest.mark.django_db


def post(client, fields=(), files=(), headers=None):
    body, content_type = form_data_body(list(fields), list(files))
    return client.generic("POST", "/rmbg", body, content_type=content_type, headers=headers or {})


def png_of_size(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def assert_error(response, status: int, message: str):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == message
    assert body["status"] == status
    return body


def test_it_refuses_a_request_without_image(client):
    response = post(client, fields=[("format", "png")])
    body = assert_error(response, 400, "No image file provided. Please include an 'image' field in your form data.")
    assert body["details"] == [{"field": "image", "message": body["error"]}]


def test_it_refuses_an_empty_file_input_exactly_as_a_browser_sends_it(client):
    body, content_type = empty_file_input_body([("format", "png")])
    assert b'filename=""' in body
    response = client.generic("POST", "/rmbg", body, content_type=content_type)
    assert_error(response, 400, "No file selected. Please choose an image file to upload.")


def test_it_refuses_an_unsupported_extension(client, small_png):
    response = post(client, files=[("image", "setup.exe", small_png, "application/octet-stream")])
    assert_error(response, 400, "File type '.exe' is not supported. Allowed formats: webp, bmp, png, jpg, jpeg")


def test_it_refuses_bytes_that_are_not_an_image(client):
    response = post(client, files=[("image", "photo.png", b"hello, I am text" * 10, "image/png")])
    assert_error(response, 400, "File does not appear to be a valid image (invalid file signature)")


def test_it_refuses_a_truncated_png(client, small_png):
    response = post(client, files=[("image", "photo.png", small_png[: len(small_png) // 2], "image/png")])
    assert_error(response, 400, "File does not appear to be a valid image (invalid file signature)")


def test_it_refuses_an_empty_file(client):
    response = post(client, files=[("image", "photo.png", b"", "image/png")])
    assert_error(response, 400, "Uploaded file is empty (0 bytes).")


def test_it_refuses_a_file_over_50_mb(client, small_png):
    size = 57_881_395  # 55.2 MB
    content = small_png + b"\0" * (size - len(small_png))
    response = post(client, files=[("image", "big.png", content, "image/png")])
    assert_error(response, 400, "File size (55.2 MB) exceeds the maximum allowed size of 50 MB.")


def test_it_refuses_a_too_wide_image(client):
    response = post(client, files=[("image", "wide.png", png_of_size(12000, 4), "image/png")])
    assert_error(response, 400, "Image width (12000px) exceeds the maximum allowed width of 10000px.")


def test_it_refuses_a_too_tall_image(client):
    response = post(client, files=[("image", "tall.png", png_of_size(4, 15000), "image/png")])
    assert_error(response, 400, "Image height (15000px) exceeds the maximum allowed height of 10000px.")


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("w", "abc", "'w' must be an integer, got: 'abc'"),
        ("h", "abc", "'h' must be an integer, got: 'abc'"),
        ("w", "-5", "'w' must be at least 1, got: -5"),
        ("w", "15000", "'w' must be at most 10000, got: 15000"),
        ("angle", "ninety", "'angle' must be a number, got: 'ninety'"),
        ("angle", "500", "'angle' must be between -360 and 360 degrees, got: 500.0"),
        ("format", "gif", "Invalid format 'gif'. Allowed formats: PNG, JPEG, WEBP, BMP"),
        ("bg_color", "#12345", "Invalid color format '#12345'. Use hex format: #RGB, #RGBA, #RRGGBB, or #RRGGBBAA"),
    ],
)
def test_it_refuses_a_bad_field(client, small_png, field, value, message):
    response = post(client, fields=[(field, value)], files=[("image", "a.png", small_png, "image/png")])
    body = assert_error(response, 400, message)
    assert body["details"] == [{"field": field, "message": message}]


def test_it_refuses_mask_with_bg_color(client, small_png):
    response = post(
        client, fields=[("mask", "true"), ("bg_color", "red")], files=[("image", "a.png", small_png, "image/png")]
    )
    assert_error(response, 400, "Cannot use 'mask=true' together with 'bg_color'. Choose one or the other.")


def test_it_reports_every_bad_field_together(client, small_png):
    response = post(
        client,
        fields=[("w", "abc"), ("angle", "500"), ("format", "gif")],
        files=[("image", "a.png", small_png, "image/png")],
    )
    body = assert_error(response, 400, "Multiple validation errors")
    assert {d["field"]: d["message"] for d in body["details"]} == {
        "w": "'w' must be an integer, got: 'abc'",
        "angle": "'angle' must be between -360 and 360 degrees, got: 500.0",
        "format": "Invalid format 'gif'. Allowed formats: PNG, JPEG, WEBP, BMP",
    }


def test_it_reports_a_missing_image_together_with_bad_fields(client):
    response = post(client, fields=[("w", "abc")])
    body = assert_error(response, 400, "Multiple validation errors")
    assert [d["field"] for d in body["details"]] == ["image", "w"]


def test_it_answers_json_for_unknown_api_paths(client):
    response = client.get("/api/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found", "status": 404}


def test_it_answers_a_wrong_method_in_json(client):
    response = client.get("/rmbg")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == {"error": "Method Not Allowed", "status": 405}


def test_it_treats_a_multipart_body_without_boundary_as_having_no_image(client):
    response = client.generic("POST", "/rmbg", b"garbage", content_type="multipart/form-data")
    assert_error(response, 400, "No image file provided. Please include an 'image' field in your form data.")


def test_it_refuses_a_form_with_too_many_fields(client, small_png):
    fields = [(f"f{i}", "x") for i in range(1001)]  # Django reads at most 1000
    response = post(client, fields=fields, files=[("image", "a.png", small_png, "image/png")])
    assert_error(response, 400, "The form data could not be read: too many fields, or text fields too large.")


HUGE = 1024 * 1024
HEX_HELP = "Use hex format: #RGB, #RGBA, #RRGGBB, or #RRGGBBAA"


@pytest.mark.parametrize(("field", "raw", "message"), [
    ("bg_color", "x" * HUGE, f"Invalid color format '{'x' * 64}…'. {HEX_HELP}"),
    ("format", "g" * HUGE, f"Invalid format '{'g' * 64}…'. Allowed formats: PNG, JPEG, WEBP, BMP"),
    ("w", "a" * HUGE, f"'w' must be an integer, got: '{'a' * 64}…'"),
    ("h", "9" * 4000, f"'h' must be at most 10000, got: {'9' * 64}…"),
    ("w", "9" * 5000, f"'w' must be an integer, got: '{'9' * 64}…'"),  # past Python's int digit limit
    ("angle", "n" * HUGE, f"'angle' must be a number, got: '{'n' * 64}…'"),
    ("mask", "m" * HUGE, f"'mask' must be a boolean (true/false/1/0/yes/no/on/off), got: '{'m' * 64}…'"),
])
def test_it_echoes_only_a_short_prefix_of_a_rejected_value(client, small_png, field, raw, message):
    response = post(client, fields=[(field, raw)], files=[("image", "a.png", small_png, "image/png")])

    body = assert_error(response, 400, message)
    assert body["details"] == [{"field": field, "message": message}]
    assert len(response.content) < 1024


def test_it_echoes_a_short_rejected_value_whole(client, small_png):
    response = post(client, fields=[("bg_color", "#12345")], files=[("image", "a.png", small_png, "image/png")])
    assert_error(response, 400, f"Invalid color format '#12345'. {HEX_HELP}")
