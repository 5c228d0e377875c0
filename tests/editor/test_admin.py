"""The admin lists both kinds of job under the labels they had before the models were renamed
(EditorJob, BatchJob: issue 26)."""

import pytest

from editor.models import EditorJob
from jobs.models import BatchJob

pytestmark = pytest.mark.django_db


def test_it_lists_editor_and_batch_jobs_under_their_labels(admin_client, alice):
    editor_job = EditorJob.objects.create(user=alice, original_name="cat.jpg")
    batch_job = BatchJob.objects.create(user=alice)

    index = admin_client.get("/admin/").content.decode()
    assert ">Editor jobs<" in index and ">Batch jobs<" in index
    editor_jobs = admin_client.get("/admin/editor/editorjob/").content.decode()
    assert "Select editor job to change" in editor_jobs and str(editor_job.pk) in editor_jobs
    batch_jobs = admin_client.get("/admin/jobs/batchjob/").content.decode()
    assert "Select batch job to change" in batch_jobs and batch_job.pk in batch_jobs
