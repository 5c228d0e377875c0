"""The operators' queue of bad cut-outs (cutouts.reports): from the editor, batch items and /rmbg."""

from django.contrib import admin
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from cutouts import reports
from cutouts.models import Report

# One image of a report, over a checkerboard (the mask and the cut-out have transparent parts).
_FIGURE = ('<figure style="margin:0"><img src="{}" alt="{}" style="max-width:320px;max-height:320px;'
           'background:repeating-conic-gradient(#dfe3ea 0 25%,#fff 0 50%) 0 0/20px 20px">'
           "<figcaption>{}</figcaption></figure>")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The operators' queue of bad cut-outs: side by side, mark reviewed, refund, export the set."""

    list_display = ("original_name", "source", "user", "created_at", "short_note", "reviewed_at", "refunded")
    list_filter = ("source", ("reviewed_at", admin.EmptyFieldListFilter))
    search_fields = ("id", "source_ref", "user__email", "original_name", "note")
    date_hierarchy = "created_at"
    readonly_fields = ("side_by_side", *[field.name for field in Report._meta.fields])
    actions = ("mark_reviewed", "refund_credit", "export_set")

    def has_add_permission(self, request) -> bool:
        return False  # users send them (the editor, the API)

    @admin.display(description="note")
    def short_note(self, obj) -> str:
        return obj.note[:80]

    @admin.display(description="refunded", boolean=True)
    def refunded(self, obj) -> bool:
        return bool(obj.refund_key)

    @admin.display(description="original · mask · result")
    def side_by_side(self, obj) -> str:
        cells = [
            format_html(_FIGURE, reverse("admin:cutouts_report_file", args=[obj.pk, kind]),
                        f"{kind} of {obj.original_name}", kind)
            for kind in ("original", "mask", "result") if getattr(obj, kind)
        ]
        # safe: each cell was built by format_html, which escaped every value
        return format_html('<div style="display:flex;gap:1rem;flex-wrap:wrap">{}</div>',
                           mark_safe("".join(cells)))

    def get_urls(self):
        return [path("<uuid:report_id>/file/<str:kind>/", self.admin_site.admin_view(self.report_file),
                     name="cutouts_report_file"), *super().get_urls()]

    def report_file(self, request, report_id, kind):
        if kind not in ("original", "mask", "result") or not self.has_view_permission(request):
            raise Http404()
        report = Report.objects.filter(pk=report_id).first()
        name = getattr(report, kind, "") if report else ""
        if report is None or not name:
            raise Http404()
        response = FileResponse(default_storage.open(name, "rb"))
        if kind == "result" and report.result_content_type:
            response["Content-Type"] = report.result_content_type
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @admin.action(description="Mark as reviewed")
    def mark_reviewed(self, request, queryset) -> None:
        for report in queryset:
            reports.report_review(report=report, by=request.user)
        self.message_user(request, f"{queryset.count()} report(s) marked as reviewed.")

    @admin.action(description="Refund the credit (once; recorded in the ledger)")
    def refund_credit(self, request, queryset) -> None:
        done = sum(reports.report_refund(report=report, by=request.user) for report in queryset)
        self.message_user(request, f"{done} credit(s) refunded; {queryset.count() - done} already were.")

    @admin.action(description="Export as a ZIP (original, mask, result, note)")
    def export_set(self, request, queryset):
        response = HttpResponse(reports.reports_zip(reports=queryset), content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="cutout-reports.zip"'
        return response
