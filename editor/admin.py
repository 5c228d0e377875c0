from django.contrib import admin

from editor import services
from editor.models import EditorJob


@admin.register(EditorJob)
class EditorJobAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "original_name", "stage", "charged", "renders", "created_at")
    list_filter = ("stage", "charged")
    search_fields = ("id", "user__email", "original_name")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in EditorJob._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        services.job_delete(job=obj)  # the stored files go with the row

    def delete_queryset(self, request, queryset) -> None:
        for job in queryset:
            services.job_delete(job=job)
