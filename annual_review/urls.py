from django.urls import path  # noqa: F401

app_name = "annual_review"

urlpatterns: list = []
