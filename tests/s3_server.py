"""An S3 server on loopback for the tests that store files: moto's ThreadedMotoServer (moto[server],
from PyPI) speaking S3 over HTTP, and the project's documented S3 settings (core.storage.s3_options,
as config/settings.py builds them from AWS_*) pointing at it. Import the fixtures where needed:

    from tests.s3_server import bucket, s3_server  # noqa: F401  (the fixtures)

moto checks neither signatures nor the expiry of presigned URLs: what a link says about its lifetime
is asserted on the link itself (tests/production/test_storage.py)."""

import uuid
from dataclasses import dataclass

import boto3
import pytest

from core.storage import S3_BACKEND, s3_options, storage_origin
from tests.live import free_port

REGION = "us-east-1"
KEYS = {"aws_access_key_id": "testing-key", "aws_secret_access_key": "testing-secret"}


@pytest.fixture(scope="session")
def s3_server():
    """Base URL of the S3 server, started once per test run."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@dataclass
class Bucket:
    name: str
    endpoint: str
    client: object

    def keys(self, prefix: str = "") -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name, Prefix=prefix)  # type: ignore[attr-defined]
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()  # type: ignore[attr-defined]


@pytest.fixture
def bucket(s3_server, settings) -> Bucket:
    """A fresh bucket, and the default storage switched to it with the documented S3 settings."""
    name = f"cutout-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name=REGION, **KEYS)
    client.create_bucket(Bucket=name)
    options = s3_options(bucket=name, endpoint_url=s3_server, region=REGION, addressing_style="path",
                         access_key=KEYS["aws_access_key_id"], secret_key=KEYS["aws_secret_access_key"])
    settings.STORAGES = settings.STORAGES | {"default": {"BACKEND": S3_BACKEND, "OPTIONS": options}}
    storage_origin.cache_clear()
    yield Bucket(name, s3_server, client)
    storage_origin.cache_clear()
