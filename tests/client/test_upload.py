"""The multipart body the client streams to POST /rmbg, and how each input kind becomes an upload."""

import base64
import email
import email.policy

import pytest
from cutout_client.errors import ConfigurationError
from cutout_client.upload import MultipartBody, form_fields, image_kind, image_source

from tests.client.images import encode, figure


def parts_of(body: MultipartBody) -> list:
    raw = body.to_bytes()
    message = email.message_from_bytes(
        f"Content-Type: {body.content_type}\r\n\r\n".encode() + raw, policy=email.policy.HTTP
    )
    assert message.is_multipart()
    return list(message.iter_parts())


def test_it_sends_the_fields_rembg_js_sends_with_its_defaults():
    assert form_fields() == [
        ("exact_resize", "false"), ("w", "0"), ("h", "0"), ("mask", "false"),
        ("return_base64", "false"), ("format", "webp"), ("expand", "true"),
    ]


def test_it_adds_bg_color_and_angle_only_when_given():
    fields = dict(form_fields(format="PNG", w=800, h=600, exact_resize=True, mask=True, bg_color="red",
                              angle=90.0, expand=False, return_base64=True))
    assert fields == {"exact_resize": "true", "w": "800", "h": "600", "mask": "true", "return_base64": "true",
                      "format": "PNG", "expand": "false", "bg_color": "red", "angle": "90"}
    assert dict(form_fields(angle=12.5))["angle"] == "12.5"


def test_it_adds_cutouts_own_fields_only_when_given():
    fields = form_fields(refine="matting", crop=True, crop_margin="10%", model="u2netp", quality="high")
    assert fields[-5:] == [("refine", "matting"), ("crop", "true"), ("crop_margin", "10%"), ("model", "u2netp"),
                           ("quality", "high")]
    assert dict(form_fields(crop_margin=0))["crop_margin"] == "0"


def test_it_builds_a_parseable_body_with_the_image_first():
    png = encode(figure(), "PNG")
    body = MultipartBody(image_source(png), form_fields(w=10))
    parts = parts_of(body)
    assert parts[0].get_param("name", header="content-disposition") == "image"
    assert parts[0].get_filename() == "image.png"
    assert parts[0].get_content_type() == "image/png"
    assert parts[0].get_payload(decode=True) == png
    names = [part.get_param("name", header="content-disposition") for part in parts[1:]]
    assert names == ["exact_resize", "w", "h", "mask", "return_base64", "format", "expand"]
    assert len(body.to_bytes()) == body.content_length == int(body.headers["Content-Length"])


def test_it_names_bytes_after_what_they_contain():
    assert image_source(encode(figure(), "JPEG")).filename == "image.jpg"
    assert image_source(encode(figure(), "WEBP")).filename == "image.webp"
    assert image_source(encode(figure(), "BMP")).filename == "image.bmp"
    # rembg.js names every Buffer image.png; unknown bytes keep that name and the server judges them.
    assert image_source(b"not an image").filename == "image.png"
    assert image_kind(b"GIF89a") is None


def test_it_reads_a_path_lazily_with_its_own_name(tmp_path):
    path = tmp_path / "holiday photo.jpeg"
    path.write_bytes(encode(figure(), "JPEG"))
    source = image_source(str(path))
    assert (source.filename, source.content_type, source.size) == ("holiday photo.jpeg", "image/jpeg",
                                                                   path.stat().st_size)
    assert source.data is None
    assert image_source(path).path == path


def test_it_decodes_base64_and_data_urls():
    png = encode(figure(), "PNG")
    plain = base64.b64encode(png).decode()
    assert image_source({"base64": plain}).data == png
    assert image_source({"base64": f"data:image/png;base64,{plain}"}).data == png
    assert image_source({"base64": plain, "filename": "x.png"}).filename == "x.png"


def test_it_reads_binary_files(tmp_path):
    path = tmp_path / "pic.png"
    path.write_bytes(encode(figure(), "PNG"))
    with open(path, "rb") as handle:
        source = image_source(handle)
    assert source.filename == "pic.png"
    assert source.data == path.read_bytes()


@pytest.mark.parametrize("bad", [{"base64": "***"}, {"b64": "AAAA"}, 42])
def test_it_rejects_unusable_input_before_sending_anything(bad):
    with pytest.raises(ConfigurationError):
        image_source(bad)


def test_it_rejects_a_missing_file(tmp_path):
    with pytest.raises(ConfigurationError, match="not found"):
        image_source(tmp_path / "nope.png")


def test_it_reports_upload_progress_per_chunk():
    body = MultipartBody(image_source(b"\x89PNG\r\n\x1a\n" + bytes(10_000)), form_fields())
    events = []
    chunks = list(body.iter_chunks(1024, events.append))
    assert len(events) == len(chunks) > 5
    assert [e.loaded for e in events] == sorted({e.loaded for e in events})
    assert all(e.upload and not e.download and e.total == body.content_length for e in events)
    assert events[-1].loaded == body.content_length and events[-1].progress == 1.0
    assert events[0]["bytes"] == 1024


def test_it_refuses_to_send_a_file_that_changed_size(tmp_path):
    path = tmp_path / "growing.png"
    path.write_bytes(encode(figure(), "PNG"))
    body = MultipartBody(image_source(path), form_fields())
    with open(path, "ab") as handle:
        handle.write(b"more")
    with pytest.raises(ConfigurationError, match="changed"):
        body.to_bytes()
