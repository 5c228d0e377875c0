"""Reporting a bad cut-out (issue 30 item 17): consent required, copies kept apart from the job, the
operators' admin queue (side by side, reviewed, refund once in the ledger, export as a set), and the
editor's retention."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from billing.models import LedgerEntry
from billing.usage import membership_usage
from cutouts.models import Report

from .conftest import job_processed, logged_in

pytestmark = pytest.mark.django_db(transaction=True)

CONSENT_MESSAGE = "Tick the box to agree to send this image and its cut-out to the operators."


@pytest.fixture
def job(funded_alice, photo):
    return job_processed(funded_alice, photo, fmt="png")


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_superuser("op", "op@example.com", "pw-for-operators")


def _report(client, job, **fields):
    return client.post(f"/editor/jobs/{job.pk}/report/", fields)


def test_it_needs_consent_and_stores_nothing_without_it(funded_alice, job):
    client = logged_in(funded_alice)
    for fields in ({}, {"consent": "false", "note": "bad hair"}):
        response = _report(client, job, **fields)
        assert response.status_code == 400
        assert response.json() == {"error": CONSENT_MESSAGE, "status": 400}
    assert not Report.objects.exists()
    too_long = _report(client, job, consent="true", note="x" * 2001)
    assert too_long.json()["error"] == "The note is too long (2000 characters at most)."


def test_it_keeps_copies_that_outlive_the_job(funded_alice, bob, job):
    assert _report(logged_in(bob), job, consent="true").status_code == 404  # not bob's job
    response = _report(logged_in(funded_alice), job, consent="true", note="  the hair is cut off  ")
    assert response.status_code == 201 and response.json()["status"] == "received"
    report = Report.objects.get(pk=response.json()["id"])
    assert (report.user, report.source, report.source_ref, report.note, report.original_name) == (
        funded_alice, "editor", str(job.pk), "the hair is cut off", job.original_name)
    assert report.options == job.options
    assert len(report.storage_names) == 3 and not set(report.storage_names) & set(job.storage_names)
    for mine, theirs in ((report.original, job.original), (report.mask, job.mask), (report.result, job.result)):
        assert default_storage.open(mine).read() == default_storage.open(theirs).read()
    logged_in(funded_alice).post(f"/editor/jobs/{job.pk}/delete/")  # discarding the job keeps the report
    report.refresh_from_db()
    assert all(default_storage.exists(name) for name in report.storage_names)


def test_the_operators_review_refund_once_and_export(client, funded_alice, job, operator):
    report_id = _report(logged_in(funded_alice), job, consent="true", note="edges").json()["id"]
    prepaid = membership_usage(user_id=funded_alice.pk)["prepaidCredits"]
    client.force_login(operator)
    listing = client.get("/admin/cutouts/report/").content.decode()
    assert job.original_name in listing and "/admin/cutouts/report/add/" not in listing
    page = client.get(f"/admin/cutouts/report/{report_id}/change/").content.decode()
    for kind in ("original", "mask", "result"):
        url = f"/admin/cutouts/report/{report_id}/file/{kind}/"
        assert f'src="{url}"' in page  # side by side
        assert client.get(url).status_code == 200
    assert client.get(f"/admin/cutouts/report/{report_id}/file/thumbnail/").status_code == 404
    assert logged_in(funded_alice).get(f"/admin/cutouts/report/{report_id}/file/original/").status_code == 302

    def act(action):
        return client.post("/admin/cutouts/report/", {"action": action, "_selected_action": [report_id]})

    act("mark_reviewed")
    report = Report.objects.get(pk=report_id)
    assert report.reviewed_at is not None and report.reviewed_by == "op"
    act("refund_credit")
    act("refund_credit")  # the second time does nothing
    assert membership_usage(user_id=funded_alice.pk)["prepaidCredits"] == prepaid + 1
    grants = LedgerEntry.objects.filter(user=funded_alice, kind="admin_grant")
    assert grants.count() == 1 and grants.get().credits == 1 and report_id in grants.get().reference

    export = act("export_set")
    assert export["Content-Type"] == "application/zip"
    names = sorted(zipfile.ZipFile(io.BytesIO(b"".join(export.streaming_content) if export.streaming
                                              else export.content)).namelist())
    assert [n.split("/", 1)[1].split(".")[0] for n in names] == ["mask", "original", "report", "result"]


def test_reports_follow_the_editor_retention(funded_alice, job, settings, capsys):
    settings.EDITOR_RETENTION_DAYS = 7
    client = logged_in(funded_alice)
    old, new = (Report.objects.get(pk=_report(client, job, consent="true").json()["id"]) for _ in range(2))
    Report.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    call_command("editor_purge")
    assert "and 1 cut-out report(s)." in capsys.readouterr().out
    assert list(Report.objects.values_list("pk", flat=True)) == [new.pk]
    assert not any(default_storage.exists(name) for name in old.storage_names)
