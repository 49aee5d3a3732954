from __future__ import annotations

from django.urls import path

from census import views

app_name = "census"

urlpatterns = [
    path("", views.index, name="index"),
    path("template.xlsx", views.template, name="template"),
    path("upload/", views.upload, name="upload"),
    path("<int:pk>/", views.job_detail, name="job"),
    path("<int:pk>/progress/", views.job_progress, name="progress"),
    path("<int:pk>/confirm/", views.job_confirm, name="confirm"),
    path("<int:pk>/discard/", views.job_discard, name="discard"),
]
