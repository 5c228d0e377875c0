"""The editor's files in S3 over HTTP (moto's server on loopback, the documented S3 settings): the
original, mask, result and thumbnail are written there, the owner's downloads are redirected to
presigned links that serve the same bytes over HTTP, and `editor_purge` deletes the objects."""

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from editor.models import EditorJob
from tests.s3_server import bucket, s3_server  # noqa: F401  (the fixtures)

from .conftest import logged_in, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def job(bucket, funded_alice, photo):  # noqa: F811
    response = logged_in(funded_alice).post("/editor/jobs/", upload_form(photo, format="png"))
    assert response.status_code == 200, response.content
    return EditorJob.objects.get(pk=response.json()["id"])


def test_it_writes_every_file_to_the_bucket_and_serves_them_through_presigned_links(job, bucket, funded_alice,  # noqa: F811
                                                                                   settings):
    assert job.stage == "done"
    names = [job.original, job.mask, job.result, job.thumbnail]
    assert all(names) and bucket.keys() == sorted(names)
    owner = logged_in(funded_alice)
    for kind, name in zip(("original", "mask", "result", "thumbnail"), names, strict=True):
        response = owner.get(f"/editor/jobs/{job.pk}/files/{kind}/")
        assert response.status_code == 302, kind
        link = urlsplit(response["Location"])
        assert (f"{link.scheme}://{link.netloc}", link.path) == (bucket.endpoint, f"/{bucket.name}/{name}")
        assert parse_qs(link.query)["X-Amz-Expires"] == [str(settings.STORAGES["default"]["OPTIONS"]["querystring_expire"])]
        fetched = httpx.get(response["Location"], timeout=10)
        assert fetched.status_code == 200, kind
        assert fetched.content == bucket.read(name)
        Image.open(io.BytesIO(fetched.content)).verify()
    download = httpx.get(owner.get(f"/editor/jobs/{job.pk}/files/result/?download=1")["Location"], timeout=10)
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"] == 'attachment; filename="astronaut-cutout.png"'


def test_another_user_gets_no_link(job, bob):
    assert logged_in(bob).get(f"/editor/jobs/{job.pk}/files/result/").status_code == 404


def test_the_purge_command_deletes_the_objects(job, bucket, funded_alice):  # noqa: F811
    assert len(bucket.keys()) == 4
    EditorJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=30))
    call_command("editor_purge")
    assert bucket.keys() == [] and not EditorJob.objects.filter(pk=job.pk).exists()
