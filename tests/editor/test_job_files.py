"""GET /editor/jobs/<id>/ and its files: for the owner only; everyone else gets 404."""

import io

import pytest
from PIL import Image

from editor.models import EditorJob

from .conftest import logged_in, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def job(funded_alice, photo):
    response = logged_in(funded_alice).post("/editor/jobs/", upload_form(photo, format="png"))
    return EditorJob.objects.get(pk=response.json()["id"])


def test_it_returns_the_state_to_the_owner(job, funded_alice):
    response = logged_in(funded_alice).get(f"/editor/jobs/{job.pk}/")
    assert response.status_code == 200
    state = response.json()
    assert state["id"] == str(job.pk) and state["stage"] == "done"
    assert state["result"]["filename"] == "astronaut-cutout.png"


@pytest.mark.parametrize("kind", ["original", "mask", "result", "thumbnail"])
def test_it_serves_each_file_to_the_owner(job, funded_alice, kind):
    response = logged_in(funded_alice).get(f"/editor/jobs/{job.pk}/files/{kind}/")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("private")
    Image.open(io.BytesIO(b"".join(response.streaming_content))).verify()


def test_it_downloads_the_result_as_an_attachment(job, funded_alice):
    response = logged_in(funded_alice).get(f"/editor/jobs/{job.pk}/files/result/?download=1")
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="astronaut-cutout.png"'


@pytest.mark.parametrize("path", ["", "files/original/", "files/result/", "files/mask/"])
def test_it_is_404_for_another_user(job, bob, path):
    assert logged_in(bob).get(f"/editor/jobs/{job.pk}/{path}").status_code == 404


def test_it_is_404_or_401_for_anonymous(job, client):
    assert client.get(f"/editor/jobs/{job.pk}/files/result/").status_code == 404
    assert client.get(f"/editor/jobs/{job.pk}/").status_code == 401


def test_it_is_404_for_an_unknown_kind(job, funded_alice):
    assert logged_in(funded_alice).get(f"/editor/jobs/{job.pk}/files/secrets/").status_code == 404
