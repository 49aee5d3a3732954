from django.urls import path

from filing import office_urls, views

app_name = "filing"

urlpatterns = [
    path("", views.batch_index, name="batch_index"),
    path("batches/new/", views.batch_create, name="batch_create"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/progress/", views.batch_progress, name="batch_progress"),
    path("batches/<int:pk>/generate/", views.batch_generate, name="batch_generate"),
    path("batches/<int:pk>/send/", views.batch_send, name="batch_send"),
    path("items/<int:pk>/receipt/", views.item_receipt, name="item_receipt"),
    path("packets/<int:pk>/receipts/", views.packet_receipts, name="packet_receipts"),
    path("packets/<int:pk>/download/", views.packet_download, name="packet_download"),
    *office_urls.urlpatterns,
]
