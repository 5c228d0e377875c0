"""GET /editor/: the signed-in page, with recent jobs."""

import pytest

from .conftest import logged_in, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_requires_login(client):
    response = client.get("/editor/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_it_lists_recent_jobs_with_thumbnails(funded_alice, bob, photo):
    client = logged_in(funded_alice)
    job_id = client.post("/editor/jobs/", upload_form(photo, name="moon.jpg")).json()["id"]
    page = client.get("/editor/").content.decode()
    assert f'data-job="{job_id}"' in page and "moon.jpg" in page
    assert f"/editor/jobs/{job_id}/files/thumbnail/" in page
    assert "moon.jpg" not in logged_in(bob).get("/editor/").content.decode()


def test_it_asks_an_unverified_user_to_verify(charlie):
    page = logged_in(charlie).get("/editor/").content.decode()
    assert "Email address not verified – please check your inbox" in page
