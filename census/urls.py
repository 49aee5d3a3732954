from __future__ import annotations

from django.urls import path

from census import views

app_name = "census"

urlpatterns = [
    path("", views.index, name="index"),
]
