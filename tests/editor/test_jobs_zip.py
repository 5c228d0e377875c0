"""GET /editor/jobs/zip/?ids=…: the owner's selected results in one ZIP."""

import io
import zipfile

import pytest
from PIL import Image

from .conftest import logged_in, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_zips_the_owners_results_only(funded_alice, bob, photo):
    from .conftest import fund

    fund(bob)
    alice = logged_in(funded_alice)
    ids = [alice.post("/editor/jobs/", upload_form(photo, name="same.jpg")).json()["id"] for _ in range(2)]
    bobs = logged_in(bob).post("/editor/jobs/", upload_form(photo, name="bob.jpg")).json()["id"]

    response = alice.get(f"/editor/jobs/zip/?ids={','.join(ids)},{bobs}")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["same-cutout.webp", "same-cutout-2.webp"]  # bob's is not there
    for name in archive.namelist():
        assert Image.open(io.BytesIO(archive.read(name))).size == (320, 320)


@pytest.mark.parametrize("ids", ["", "nope", "00000000-0000-0000-0000-000000000000"])
def test_it_answers_an_empty_selection_in_the_error_shape(funded_alice, ids):
    response = logged_in(funded_alice).get(f"/editor/jobs/zip/?ids={ids}")
    assert response.status_code == 400
    assert response.json() == {"error": "Select at least one processed image to download.", "status": 400}


def test_it_requires_login(client):
    response = client.get("/editor/jobs/zip/?ids=x")
    assert response.status_code == 401 and response.json()["status"] == 401
