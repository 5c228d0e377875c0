"""Editor jobs: one uploaded image, its stored mask and its current rendering, owned by a user."""

import uuid

from django.conf import settings
from django.db import models


class EditorJob(models.Model):
    class Stage(models.TextChoices):
        RECEIVED = "received"
        QUEUED = "queued"
        SEGMENTING = "segmenting"
        REFINING = "refining"
        COMPOSITING = "compositing"
        ENCODING = "encoding"
        DONE = "done"
        ERROR = "error"

    # A random id: job URLs cannot be enumerated (and others get 404 anyway).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="editor_jobs")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.RECEIVED)
    error_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)

    original_name = models.CharField(max_length=255)
    original_format = models.CharField(max_length=8, blank=True)
    original_width = models.PositiveIntegerField(null=True, blank=True)
    original_height = models.PositiveIntegerField(null=True, blank=True)
    original_size = models.PositiveBigIntegerField(default=0)
    # Storage names (default_storage), private to the owner; served by editor.views only.
    original = models.CharField(max_length=255, blank=True)
    mask = models.CharField(max_length=255, blank=True)
    result = models.CharField(max_length=255, blank=True)
    thumbnail = models.CharField(max_length=255, blank=True)
    # Touch-ups kept across re-renders: erase/restore strokes in image pixels (removal.strokes),
    # and an uploaded background image (a storage name) scaled to fill or fit.
    strokes = models.JSONField(default=list, blank=True)
    background = models.CharField(max_length=255, blank=True)
    background_fit = models.CharField(max_length=8, default="fill")

    options = models.JSONField(default=dict, blank=True)  # the raw form fields of the current result
    result_format = models.CharField(max_length=8, blank=True)
    result_content_type = models.CharField(max_length=32, blank=True)
    result_width = models.PositiveIntegerField(null=True, blank=True)
    result_height = models.PositiveIntegerField(null=True, blank=True)
    result_size = models.PositiveBigIntegerField(default=0)
    # What refinement did for the current result, as X-Refine and X-Refine-Reason say (SPEC §7);
    # empty when refine was not asked.
    refine = models.CharField(max_length=16, blank=True)
    refine_reason = models.CharField(max_length=32, blank=True)
    renders = models.PositiveIntegerField(default=0)  # 1 after the first result; re-renders add one
    charged = models.BooleanField(default=False)

    class Meta:
        db_table = "editor_job"  # the table kept its name when the model was renamed from Job
        verbose_name = "editor job"  # the admin lists batch jobs too
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.stage})"

    @property
    def storage_names(self) -> list[str]:
        return [name for name in (self.original, self.mask, self.result, self.thumbnail,
                                                 self.background) if name]
