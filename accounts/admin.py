from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone

from accounts.models import AccountState, ApiKey

User = get_user_model()

# Key admin shows the visible prefix only; the hash and secret are never fields here.
_KEY_FIELDS = ("name", "prefix", "is_test", "created_at", "last_used_at", "revoked_at")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "user", "is_test", "created_at", "last_used_at", "revoked_at")
    list_filter = ("is_test", "revoked_at")
    search_fields = ("name", "public_id", "user__email")
    list_select_related = ("user",)
    fields = ("user", *_KEY_FIELDS)
    readonly_fields = fields
    actions = ("revoke",)

    @admin.display(description="prefix")
    def prefix(self, obj: ApiKey) -> str:
        return f"{obj.prefix}…"

    def has_add_permission(self, request) -> bool:
        # A key made here could never be shown to anyone: users create keys on their profile.
        return False

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = _KEY_FIELDS
    readonly_fields = _KEY_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    @admin.display(description="prefix")
    def prefix(self, obj: ApiKey) -> str:
        return f"{obj.prefix}…"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class AccountStateInline(admin.StackedInline):
    model = AccountState
    fields = ("token_generation",)
    readonly_fields = ("token_generation",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


admin.site.unregister(User)


@admin.register(User)
class CutoutUserAdmin(UserAdmin):
    inlines = (*UserAdmin.inlines, ApiKeyInline, AccountStateInline)
    list_display = ("email", "username", "is_active", "is_staff", "date_joined", "last_login")
    ordering = ("-date_joined",)
