"""`manage.py jobs_purge`: jobs older than EDITOR_RETENTION_DAYS go, rows and files."""

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

    call_command("jobs_purge")

    assert "Purged 1 editor job(s) and 0 cut-out report(s)." in capsys.readouterr().out
    assert list(EditorJob.objects.values_list("pk", flat=True)) == [new.pk]
    assert not any(default_storage.exists(name) for name in old.storage_names)
    assert all(default_storage.exists(name) for name in new.storage_names)
