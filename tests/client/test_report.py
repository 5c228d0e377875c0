"""Client.report: a bad cut-out sent to the operators, by Idempotency-Key, through the live server."""

import pytest
from cutout_client import BadRequest, Client
from cutout_client.errors import ConfigurationError, CutoutError
from django.core.files.storage import default_storage


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_it_reports_a_result_by_its_idempotency_key(live_api, dave, dave_key, small_jpeg):
    from cutouts.models import Report

    with Client(dave_key, base_url=live_api) as client:
        result = client.remove_background(small_jpeg, format="png", idempotency_key="client-7")
        with pytest.raises(BadRequest) as refused:
            client.report(consent=False, idempotency_key="client-7")
        assert refused.value.error == "Tick the box to agree to send this image and its cut-out to the operators."
        with pytest.raises(CutoutError) as missing:
            client.report(consent=True, idempotency_key="never-sent")
        assert missing.value.status == 404
        received = client.report(consent=True, note="the arm", idempotency_key="client-7")
        with pytest.raises(ConfigurationError):
            client.report(consent=True)
    assert received["status"] == "received"
    report = Report.objects.get(pk=received["id"])
    assert (report.user, report.source, report.note) == (dave, "rmbg", "the arm")
    with default_storage.open(report.result, "rb") as stored:
        assert stored.read() == result.output_path.read_bytes()
