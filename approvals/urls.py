from __future__ import annotations

from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("", views.request_list, name="request_list"),
    path("inbox/", views.inbox, name="inbox"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("new/<str:kind>/", views.request_new, name="request_new"),
    path("<int:pk>/", views.request_detail, name="request_detail"),
    path("<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("<int:pk>/form.pdf", views.request_pdf, name="request_pdf"),
    path("<int:pk>/pledge.pdf", views.request_pledge_pdf, name="request_pledge_pdf"),
    path("<int:pk>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("accounts/<int:pk>/opening/", views.report_opening, name="report_opening"),
    path("accounts/<int:pk>/team-change/", views.team_change, name="team_change"),
    path("<int:pk>/<str:step>/", views.request_step, name="request_step"),
]
