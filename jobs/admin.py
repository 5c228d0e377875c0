from django.contrib import admin

from jobs.models import BatchJob, Item


class ItemInline(admin.TabularInline):
    model = Item
    extra = 0
    fields = ("index", "filename", "status", "attempts", "width", "height", "bytes", "error")
    readonly_fields = fields


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "status", "created", "finished", "callback_attempts",
                    "callback_last_status")
    list_filter = ("status",)
    search_fields = ("id", "user__email")
    inlines = [ItemInline]
