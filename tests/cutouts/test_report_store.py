"""The reports' move from the editor to cutouts keeps what was filed (real migrations on the test
database), and `manage.py editor_purge` deletes expired reports of every source with their copies."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from cutouts.models import Report
from cutouts.reports import report_create

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_THE_MOVE = [("editor", "0005_job_refine"), ("cutouts", "0001_initial")]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader: the graph as applied now


def test_the_move_keeps_an_editor_report_with_its_id_and_dates(alice):
    executor = _migrate(BEFORE_THE_MOVE)
    old_apps = executor.loader.project_state(BEFORE_THE_MOVE).apps
    job = old_apps.get_model("editor", "Job").objects.create(user_id=alice.pk, original_name="cat.jpg")
    OldReport = old_apps.get_model("editor", "Report")
    old = OldReport.objects.create(
        user_id=alice.pk, job=job, note="ears", options={"format": "png"}, original_name="cat.jpg",
        original="reports/x/original.jpg", mask="reports/x/mask.png", result="reports/x/result.png",
        result_content_type="image/png", reviewed_by="op", refund_key="report:refund:x")
    filed = timezone.now() - timedelta(days=3)
    OldReport.objects.filter(pk=old.pk).update(created_at=filed, reviewed_at=filed)

    _migrate(executor.loader.graph.leaf_nodes())
    report = Report.objects.get(pk=old.pk)
    assert (report.source, report.source_ref, report.user_id, report.note, report.options) == (
        "editor", str(job.pk), alice.pk, "ears", {"format": "png"})
    assert (report.original, report.mask, report.result, report.result_content_type) == (
        "reports/x/original.jpg", "reports/x/mask.png", "reports/x/result.png", "image/png")
    assert (report.created_at, report.reviewed_at, report.reviewed_by, report.refund_key) == (
        filed, filed, "op", "report:refund:x")
    assert "editor_report" not in connection.introspection.table_names()


def _filed(user, source: str, ref: str) -> Report:
    result = default_storage.save(f"somewhere/{source}.png", ContentFile(b"result of " + source.encode()))
    original = default_storage.save(f"somewhere/{source}.jpg", ContentFile(b"original"))
    return report_create(user_id=user.pk, source=source, source_ref=ref, original=original, result=result,
                         result_content_type="image/png", original_name=f"{source}.jpg", consent=True)


def test_the_purge_deletes_expired_reports_of_every_source(alice, settings, capsys):
    settings.EDITOR_RETENTION_DAYS = 7
    old = [_filed(alice, source, ref) for source, ref in (("editor", "j1"), ("batch", "job_1/0"), ("rmbg", "r1"))]
    kept = _filed(alice, "batch", "job_2/0")
    Report.objects.filter(pk__in=[report.pk for report in old]).update(
        created_at=timezone.now() - timedelta(days=8))
    call_command("editor_purge")
    assert "and 3 cut-out report(s)." in capsys.readouterr().out
    assert list(Report.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not any(default_storage.exists(name) for report in old for name in report.storage_names)
    assert all(default_storage.exists(name) for name in kept.storage_names)
