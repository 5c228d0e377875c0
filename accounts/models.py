from django.conf import settings
from django.db import models
from django.utils import timezone

API_KEY_PREFIX = "ck_live_"
TEST_KEY_PREFIX = "ck_test_"  # same length: a test key's calls are never charged (SPEC §7)


class ApiKey(models.Model):
    """An API key. Only its public id and a hash of the full key are stored, never the key."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    public_id = models.CharField(max_length=8, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Test keys: real processing, small results, never charged nor counted as usage.
    is_test = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def prefix(self) -> str:
        """The visible part of the key: safe to show anywhere."""
        return f"{TEST_KEY_PREFIX if self.is_test else API_KEY_PREFIX}{self.public_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AccountState(models.Model):
    """Per-user bookkeeping that the default User model has no room for."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_state"
    )
    # Bumped on logout: every user token carries the generation it was issued in.
    token_generation = models.PositiveIntegerField(default=0)
    # Signs batch-job webhooks (Cutout-Signature); kept readable because signing needs it. Shown in
    # the profile, rotatable there.
    webhook_secret = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"account state of user {self.user_id}"
