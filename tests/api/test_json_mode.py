"""JSON answers for POST /rmbg (SPEC §7): only when Accept asks for JSON and nothing image-like."""

import base64
import io

import pytest
from PIL import Image

from api.response_shape import json_wanted
from tests.api.multipart import form_data_body

AXIOS_ACCEPT = "application/json, text/plain, */*"  # axios' default, so rembg.js'


def post(client, image: bytes, *, key: str, accept: str | None):
    body, ctype = form_data_body([], [("image", "photo.jpg", image, "image/jpeg")])
    headers = {"x-api-key": key} | ({"Accept": accept} if accept is not None else {})
    return client.generic("POST", "/rmbg", body, content_type=ctype, headers=headers)


@pytest.mark.django_db
def test_it_answers_json_when_asked_for_json_only(client, alice, api_key_for, photo_jpeg):
    response = post(client, photo_jpeg, key=api_key_for(alice), accept="application/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()["data"]
    assert {k: data[k] for k in ("content_type", "width", "height", "credits_charged")} == {
        "content_type": "image/webp", "width": 512, "height": 512, "credits_charged": 1}
    image = Image.open(io.BytesIO(base64.b64decode(data["result_b64"])))
    assert (image.format, image.size) == ("WEBP", (512, 512))
    assert response["X-Credits-Charged"] == "1"  # the headers stay as they are for bytes
    assert response["Vary"] == "Accept"


@pytest.mark.django_db
@pytest.mark.parametrize("accept", [AXIOS_ACCEPT, None, "*/*", "image/png", "application/json, image/*"])
def test_it_keeps_answering_bytes_to_everyone_else(client, alice, api_key_for, photo_jpeg, accept):
    response = post(client, photo_jpeg, key=api_key_for(alice), accept=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response.content[:4] == b"RIFF"
    assert response["Vary"] == "Accept"  # so no cache hands these bytes to a JSON client


@pytest.mark.parametrize(("accept", "wanted"), [
    ("application/json", True),
    ("application/json;q=0.9, text/plain", True),
    ("Application/JSON", True),
    ("application/json, */*;q=0", True),  # q=0 means "not acceptable"
    ("application/json, */*;q=0.1", False),
    (AXIOS_ACCEPT, False),
    ("application/json, image/webp", False),
    ("text/html", False),
    ("", False),
])
def test_it_reads_the_accept_header(accept, wanted):
    assert json_wanted(accept) is wanted
