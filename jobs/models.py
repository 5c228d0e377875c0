"""A batch job and its items. The rows are the job's whole state (Celery keeps no results)."""

import secrets

from django.conf import settings
from django.db import models


def job_id_new() -> str:
    return f"job_{secrets.token_hex(12)}"


class BatchJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        PARTIAL = "partial"
        FAILED = "failed"
        CANCELLED = "cancelled"

    id = models.CharField(primary_key=True, max_length=40, default=job_id_new, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batch_jobs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    options = models.JSONField(default=dict)  # the raw option fields, validated at submit
    ip = models.CharField(max_length=64, blank=True)
    test_mode = models.BooleanField(default=False)  # submitted with a test key: items small and free
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)  # set once, by whoever settles the last item
    callback_url = models.URLField(max_length=2000, blank=True)
    event_id = models.CharField(max_length=40, blank=True)  # the same on every delivery attempt
    callback_attempts = models.PositiveIntegerField(default=0)
    callback_last_status = models.IntegerField(null=True, blank=True)  # HTTP status; 0 = no answer
    callback_delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "jobs_job"  # the table kept its name when the model was renamed from Job
        verbose_name = "batch job"  # the admin lists editor jobs too
        indexes = [models.Index(fields=["user", "-created"]), models.Index(fields=["created"])]

    def __str__(self) -> str:
        return self.id


class Item(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    job = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="items")
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    filename = models.CharField(max_length=255)
    source = models.CharField(max_length=255, blank=True)  # storage name of the uploaded image
    source_url = models.URLField(max_length=2048, blank=True)  # or the image_url a worker downloads
    result = models.CharField(max_length=255, blank=True)  # storage name of the output
    content_type = models.CharField(max_length=40, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    bytes = models.PositiveIntegerField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)  # SPEC's {"error", "details"?, "status"}
    attempts = models.PositiveIntegerField(default=0)  # > 1: re-delivered after a worker died
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="jobs_item_unique_index")]

    def __str__(self) -> str:
        return f"{self.job_id}[{self.index}]"

    @property
    def final(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED)
