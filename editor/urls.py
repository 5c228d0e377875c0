from django.urls import path

from editor import report_views, views

app_name = "editor"

urlpatterns = [
    path("", views.editor_page, name="page"),
    path("jobs/", views.job_upload, name="job_upload"),
    path("jobs/zip/", views.jobs_download, name="jobs_download"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<uuid:job_id>/delete/", views.job_discard, name="job_discard"),
    path("jobs/<uuid:job_id>/render/", views.job_render, name="job_render"),
    path("jobs/<uuid:job_id>/report/", report_views.job_report, name="job_report"),
    path("jobs/<uuid:job_id>/files/<str:kind>/", views.job_file, name="job_file"),
]
