"""`manage.py editor_purge`: jobs older than EDITOR_RETENTION_DAYS go, rows and files; `jobs_purge`, its
old name, still does the same for one release and says it is deprecated."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from editor.models import EditorJob

from .conftest import logged_in, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_deletes_expired_jobs_and_their_files(funded_alice, photo, settings, capsys):
    settings.EDITOR_RETENTION_DAYS = 7
    client = logged_in(funded_alice)
    old, new = (EditorJob.objects.get(pk=client.post("/editor/jobs/", upload_form(photo)).json()["id"])
                for _ in range(2))
    EditorJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))

    call_command("editor_purge")

    output = capsys.readouterr()
    assert "Purged 1 editor job(s) and 0 cut-out report(s)." in output.out and "deprecated" not in output.err
    assert list(EditorJob.objects.values_list("pk", flat=True)) == [new.pk]
    assert not any(default_storage.exists(name) for name in old.storage_names)
    assert all(default_storage.exists(name) for name in new.storage_names)


def test_its_old_name_purges_the_same_and_says_it_is_deprecated(funded_alice, photo, settings, capsys):
    settings.EDITOR_RETENTION_DAYS = 7
    client = logged_in(funded_alice)
    old = EditorJob.objects.get(pk=client.post("/editor/jobs/", upload_form(photo)).json()["id"])
    EditorJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))

    call_command("jobs_purge", days=7)

    output = capsys.readouterr()
    assert "Purged 1 editor job(s) and 0 cut-out report(s)." in output.out
    assert output.err.strip().splitlines() == [
        "jobs_purge is deprecated and will be removed: run `manage.py editor_purge` instead."]
    assert not EditorJob.objects.exists()
    assert not any(default_storage.exists(name) for name in old.storage_names)
