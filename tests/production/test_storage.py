"""Files: local by default; S3-compatible when a bucket is named: private objects, short-lived
signed URLs (signed offline by boto3: no network), and editor downloads redirected to them."""

import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages

from core.storage import S3_BACKEND, s3_options, signed_url, storage_origin
from tests.production.conftest import ROOT

S3_ENV = {
    "AWS_STORAGE_BUCKET_NAME": "cutout-files",
    "AWS_S3_ENDPOINT_URL": "https://s3.example.test",
    "AWS_S3_REGION_NAME": "eu-west-1",
    "AWS_S3_ADDRESSING_STYLE": "path",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
    "AWS_SECRET_ACCESS_KEY": "example-secret-key-example-secret-key-0",
}


def _settings_storages(env: dict[str, str]) -> str:
    code = "from django.conf import settings; print(settings.STORAGES['default'])"
    done = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT,
                          env=dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings") | env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_it_keeps_files_on_the_local_disk_by_default():
    assert "FileSystemStorage" in _settings_storages({"AWS_STORAGE_BUCKET_NAME": ""})
    assert signed_url("editor/1/x.png") is None


def test_it_switches_to_private_s3_objects_when_a_bucket_is_named():
    default = _settings_storages(S3_ENV)
    assert S3_BACKEND in default
    for part in ("'bucket_name': 'cutout-files'", "'default_acl': 'private'", "'querystring_auth': True",
                 "'querystring_expire': 300", "'endpoint_url': 'https://s3.example.test'"):
        assert part in default


@pytest.fixture
def s3(settings):
    options = s3_options(bucket="cutout-files", endpoint_url="https://s3.example.test", region="eu-west-1",
                         addressing_style="path", access_key=S3_ENV["AWS_ACCESS_KEY_ID"],
                         secret_key=S3_ENV["AWS_SECRET_ACCESS_KEY"])
    settings.STORAGES = settings.STORAGES | {"default": {"BACKEND": S3_BACKEND, "OPTIONS": options}}
    storage_origin.cache_clear()
    yield storages["default"]
    storage_origin.cache_clear()


def test_it_signs_short_lived_urls_offline(s3):
    assert (s3.default_acl, s3.querystring_auth, s3.querystring_expire) == ("private", True, 300)
    url = signed_url("editor/1/job/result-ab12.webp", content_type="image/webp", download_name="cat-cutout.webp")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "s3.example.test",
                                                         "/cutout-files/editor/1/job/result-ab12.webp")
    assert query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Signature"][0]
    assert query["response-content-type"] == ["image/webp"]
    assert query["response-content-disposition"] == ['attachment; filename="cat-cutout.webp"']
    assert storage_origin() == "https://s3.example.test"


@pytest.mark.django_db
def test_it_redirects_editor_downloads_to_a_signed_url(s3, alice, settings, tmp_path):
    from editor.models import EditorJob

    settings.MEDIA_ROOT = str(tmp_path)
    local = storages.create_storage({"BACKEND": "django.core.files.storage.FileSystemStorage"})
    name = local.save("editor/result.webp", ContentFile(b"RIFF....WEBP"))
    job = EditorJob.objects.create(user=alice, original_name="cat.jpg", stage=EditorJob.Stage.DONE, result=name,
                                   result_format="webp", result_content_type="image/webp")
    from django.test import Client

    client = Client()
    client.force_login(alice)
    response = client.get(f"/editor/jobs/{job.pk}/files/result/?download=1")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.netloc == "s3.example.test" and location.path.endswith("/editor/result.webp")
    assert parse_qs(location.query)["response-content-disposition"] == ['attachment; filename="cat-cutout.webp"']
    assert response["Cache-Control"] == "private, no-store"
    # the page may show it: the policy admits the bucket's origin for images
    assert "https://s3.example.test" in client.get("/editor/")["Content-Security-Policy"]
    assert default_storage is not None
