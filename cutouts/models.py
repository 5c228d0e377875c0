import uuid

from django.conf import settings
from django.db import models


class Report(models.Model):
    """A user's "this cut-out is bad", with their consent: copies of the original, mask and result for
    the operators, kept under the editor's retention whatever happens to the job or answer reported."""

    class Source(models.TextChoices):
        EDITOR = "editor"
        BATCH = "batch"
        RMBG = "rmbg"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="cutout_reports")
    source = models.CharField(max_length=10, choices=Source.choices)
    # editor job id; "<batch job id>/<item index>"; the /rmbg Idempotency-Key record's id
    source_ref = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    note = models.TextField(blank=True)
    options = models.JSONField(default=dict, blank=True)  # what the result was rendered with
    original_name = models.CharField(max_length=255)
    original_url = models.URLField(max_length=2048, blank=True)  # a batch item fetched from image_url
    # Storage names under reports/<id>/ (copies: discarding the job keeps the report whole).
    original = models.CharField(max_length=255, blank=True)  # empty when only original_url is known
    mask = models.CharField(max_length=255, blank=True)
    result = models.CharField(max_length=255)
    result_content_type = models.CharField(max_length=32, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=150, blank=True)
    refund_key = models.CharField(max_length=64, blank=True)  # the ledger's idempotency key, once refunded

    class Meta:
        verbose_name = "cut-out report"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({'reviewed' if self.reviewed_at else 'new'})"

    @property
    def storage_names(self) -> list[str]:
        return [name for name in (self.original, self.mask, self.result) if name]
