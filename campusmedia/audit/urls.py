from __future__ import annotations

from django.urls import path

from campusmedia.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.index, name="index"),
    path("export.csv", views.export, name="export"),
]
