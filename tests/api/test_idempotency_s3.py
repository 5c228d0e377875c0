"""Stored answers of Idempotency-Key requests in S3 over HTTP (moto's server on loopback, the documented
S3 settings): the first answer is written to the bucket, the replay is read back from it byte for byte,
and the purge deletes the object."""

from datetime import UTC, datetime, timedelta

import pytest

from api.idempotency import idempotency_purge
from tests.api.test_idempotency import charges, post
from tests.s3_server import bucket, s3_server  # noqa: F401  (the fixtures)


@pytest.mark.django_db
def test_it_keeps_the_answer_in_the_bucket_replays_it_and_purges_it(client, alice, api_key_for, photo_jpeg,
                                                                     bucket):  # noqa: F811
    key = api_key_for(alice)
    first = post(client, photo_jpeg, key=key, idem="order-s3", fields=[("format", "png")])
    assert first.status_code == 200
    stored = sorted(bucket.keys("idempotency/"))  # the answer, and the original kept for a report
    assert [bucket.read(name) for name in stored] == [photo_jpeg, first.content]
    assert stored[0].endswith(".original.jpg") and stored[1].endswith(".png")
    again = post(client, photo_jpeg, key=key, idem="order-s3", fields=[("format", "png")])
    assert (again.status_code, again["Idempotent-Replayed"], again.content) == (200, "true", first.content)
    assert charges(alice) == 1

    assert idempotency_purge() == 0  # still within its TTL
    assert sorted(bucket.keys("idempotency/")) == stored
    assert idempotency_purge(now=datetime.now(UTC) + timedelta(days=3)) == 2
    assert bucket.keys() == []
