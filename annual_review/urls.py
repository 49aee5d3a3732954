from __future__ import annotations

from django.urls import path

from annual_review import views

app_name = "annual_review"

urlpatterns = [
    path("", views.index, name="index"),
    path("open/", views.campaign_open, name="campaign_open"),
    path("<int:year>/", views.campaign_detail, name="campaign"),
    path("<int:year>/add-accounts/", views.campaign_add_accounts, name="add_accounts"),
    path("<int:year>/zero-report/", views.zero_report, name="zero_report"),
    path("<int:year>/report.pdf", views.campaign_report_pdf, name="report_pdf"),
    path("<int:year>/results.xlsx", views.campaign_results_xlsx, name="results_xlsx"),
    path("forms/<int:pk>/", views.form_detail, name="form_detail"),
    path("forms/<int:pk>/edit/", views.form_edit, name="form_edit"),
    path("forms/<int:pk>/form.pdf", views.form_pdf, name="form_pdf"),
    path("forms/<int:pk>/<str:step>/", views.form_step, name="form_step"),
]
