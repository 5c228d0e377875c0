"""A batch job's files in S3 over HTTP (moto's server on loopback, the documented S3 settings): uploads
and results are objects in the bucket, each item's url is a presigned link that serves the
result over HTTP, and `batch_purge` deletes the objects."""

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from jobs.models import BatchJob, Item
from tests.jobs.conftest import submit, uploads, wait_final
from tests.s3_server import bucket, s3_server  # noqa: F401  (the fixtures)


def test_it_keeps_uploads_and_results_in_the_bucket_and_links_them_presigned(client, alice, api_key_for, worker,
                                                                             bucket):  # noqa: F811
    key = api_key_for(alice)
    job = submit(client, key, uploads(2), format="png").json()
    prefix = f"batch/{alice.pk}/{job['id']}/"
    assert bucket.keys(prefix) == [f"{prefix}in-0.png", f"{prefix}in-1.png"]
    final = wait_final(client, key, job["id"])
    assert [item["status"] for item in final["items"]] == ["done", "done"]
    results = sorted(Item.objects.filter(job_id=job["id"]).values_list("result", flat=True))
    assert all(name.startswith(prefix) for name in results)
    assert set(results) <= set(bucket.keys(prefix))
    for item, name in zip(final["items"], results, strict=True):
        link = urlsplit(item["url"])
        assert (f"{link.scheme}://{link.netloc}", link.path) == (bucket.endpoint, f"/{bucket.name}/{name}")
        assert "X-Amz-Signature" in parse_qs(link.query)
        fetched = httpx.get(item["url"], timeout=10)
        assert (fetched.status_code, fetched.headers["content-type"]) == (200, "image/png")
        assert fetched.content == bucket.read(name)
        assert Image.open(io.BytesIO(fetched.content)).mode == "RGBA"

    BatchJob.objects.filter(pk=job["id"]).update(created=timezone.now() - timedelta(days=3))
    call_command("batch_purge")
    assert bucket.keys(prefix) == [] and not BatchJob.objects.filter(pk=job["id"]).exists()
