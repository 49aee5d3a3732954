"""Public list editions (公开名录) and the public verification of accounts, under /public/."""

from __future__ import annotations

from django.urls import path

from publication import views

app_name = "publication"

urlpatterns = [
    path("editions/", views.editions, name="editions"),
    path("editions/publish/", views.edition_publish, name="publish"),
    path("editions/<int:number>/", views.edition_detail, name="edition"),
    path("editions/<int:number>/pdf/", views.edition_pdf_download, name="edition_pdf"),
    path("verify/", views.verify, name="verify"),
]
