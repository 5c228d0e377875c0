"""Reports filed before they moved here (editor.Report) keep their ids, files and state."""

from django.db import migrations

FIELDS = ("id", "user_id", "created_at", "note", "options", "original_name", "original", "mask", "result",
          "result_content_type", "reviewed_at", "reviewed_by", "refund_key")


def editor_reports_copy(apps, schema_editor) -> None:
    Old = apps.get_model("editor", "Report")
    New = apps.get_model("cutouts", "Report")
    for old in Old.objects.all().iterator():
        report = New(source="editor", source_ref=str(old.job_id or ""),
                     **{name: getattr(old, name) for name in FIELDS})
        report.save()
        # created_at is auto_now_add: save() stamped now; the retention counts from the original date
        New.objects.filter(pk=report.pk).update(created_at=old.created_at)


class Migration(migrations.Migration):

    dependencies = [
        ("cutouts", "0001_initial"),
        ("editor", "0005_job_refine"),
    ]

    operations = [migrations.RunPython(editor_reports_copy, migrations.RunPython.noop)]
