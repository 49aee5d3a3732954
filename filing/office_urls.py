"""Routes of the offices and materials pages (filing/offices.py), included by filing/urls.py."""

from django.urls import URLPattern, path

from filing import offices

urlpatterns: list[URLPattern] = [
    path("offices/", offices.office_list, name="office_list"),
    path("offices/new/", offices.office_create, name="office_create"),
    path("offices/<int:pk>/", offices.office_edit, name="office_edit"),
    path("offices/<int:pk>/deactivate/", offices.office_deactivate, name="office_deactivate"),
    path("accounts/<int:pk>/office/", offices.account_office, name="account_office"),
    path("units/<int:pk>/materials/", offices.unit_materials, name="unit_materials"),
    path("materials/<int:pk>/download/", offices.material_download, name="material_download"),
]
