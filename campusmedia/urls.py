from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from alliance import api as alliance_api
from annual_review import api as review_api
from approvals import api as approvals_api
from campusmedia import cas, views
from campusmedia.api import views as api_views
from filing import api as filing_api
from publication import api as publication_api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("units", api_views.UnitViewSet, basename="api-unit")
router.register("accounts", api_views.AccountViewSet, basename="api-account")
router.register("requests", approvals_api.RequestViewSet, basename="api-request")
router.register("reviews", review_api.ReviewViewSet, basename="api-review")
router.register("batches", filing_api.BatchViewSet, basename="api-batch")
router.register("alliance/tasks", alliance_api.TaskViewSet, basename="api-alliance-task")
router.register("alliance/notices", alliance_api.NoticeViewSet, basename="api-alliance-notice")
router.register(
    "alliance/prepublications",
    alliance_api.PrepublicationViewSet,
    basename="api-alliance-prepublication",
)

handler403 = "campusmedia.views.permission_denied"

urlpatterns = [
    path("", views.home, name="home"),
    path("units/", views.unit_tree, name="unit_tree"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("registry/", views.registry, name="registry"),
    path("registry/<int:pk>/", views.account_detail, name="account_detail"),
    path("people/<int:pk>/", views.person_detail, name="person_detail"),
    path("people/<int:pk>/reveal/", views.person_reveal, name="person_reveal"),
    path("requests/", include("approvals.urls")),
    path("reviews/", include("annual_review.urls")),
    path("filing/", include("filing.urls")),
    path("public/", include("publication.urls")),
    path("alliance/", include("alliance.urls")),
    path("stats/", include("stats.urls")),
    path("census/", include("census.urls")),
    path("exports/", include("exports.urls")),
    path("audit/", include("campusmedia.audit.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/cas/login/", cas.cas_login, name="cas_login"),
    path("accounts/cas/logout/", cas.cas_logout, name="cas_logout"),
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", api_views.TokenView.as_view(), name="api-token"),
    path(
        "api/v1/accounts/<int:pk>/report-opening/",
        approvals_api.ReportOpeningView.as_view(),
        name="api-report-opening",
    ),
    path(
        "api/v1/public/registry/",
        publication_api.PublicRegistryView.as_view(),
        name="api-public-registry",
    ),
    path("api/v1/", include(router.urls)),
    path("api/schema/", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
]
