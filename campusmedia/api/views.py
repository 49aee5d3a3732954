"""The read API (v1). Same access rules as the pages: every queryset comes from Access."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db.models import QuerySet
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import AnonRateThrottle

from campusmedia import selectors
from campusmedia.api.pagination import RegistryPagination
from campusmedia.api.serializers import (
    AccountDetailSerializer,
    AccountListSerializer,
    UnitSerializer,
)
from campusmedia.auditlog import audit_record
from campusmedia.models import MediaAccount, Unit
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import get_access, get_for


class TokenThrottle(AnonRateThrottle):
    rate = "20/minute"


@method_decorator(login_not_required, name="dispatch")
class TokenView(ObtainAuthToken):
    """``POST {"username", "password"}`` → ``{"token"}``; lockout rules apply as on the page."""

    throttle_classes = [TokenThrottle]
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def post(self, request, *args, **kwargs):
        from rest_framework.authtoken.models import Token
        from rest_framework.response import Response

        serializer = self.get_serializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        if user.must_change_password or user.password_expired():
            return Response({"detail": _("请先在网页上修改密码。")}, status=403)
        Token.objects.filter(user=user).delete()  # a fresh token, so expiry counts from now
        token = Token.objects.create(user=user)
        audit_record(
            action=AuditAction.LOGIN, actor=user, request=request, detail={"via": "api_token"}
        )
        return Response({"token": token.key})


@method_decorator(login_not_required, name="dispatch")
class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = UnitSerializer
    # Only for the schema (the path parameter's type); every request goes through get_queryset.
    queryset = Unit.objects.none()

    def get_queryset(self) -> QuerySet[Unit]:
        return get_access(self.request).units(Unit.objects.all()).order_by("sort_order", "name")

    def get_object(self) -> Unit:
        return get_for(get_access(self.request), Unit.objects.all(), self.kwargs["pk"])


@extend_schema(
    parameters=[
        OpenApiParameter("search", OpenApiTypes.STR, description="名称或账号ID"),
        OpenApiParameter("platform", OpenApiTypes.STR, description="平台代码，如 wechat"),
        OpenApiParameter("tier", OpenApiTypes.INT, enum=[1, 2, 3]),
        OpenApiParameter("unit", OpenApiTypes.INT, description="单位ID（含下级单位）"),
        OpenApiParameter("status", OpenApiTypes.STR),
    ]
)
@method_decorator(login_not_required, name="dispatch")
class AccountViewSet(viewsets.ReadOnlyModelViewSet):
    pagination_class = RegistryPagination
    # Only for the schema (the path parameter's type); every request goes through get_queryset.
    queryset = MediaAccount.objects.none()

    def get_serializer_class(self):
        return AccountDetailSerializer if self.action == "retrieve" else AccountListSerializer

    def get_queryset(self) -> QuerySet[MediaAccount]:
        filters = selectors.RegistryFilter.from_params(self.request.query_params)
        return selectors.registry_accounts(get_access(self.request), filters)

    def get_object(self) -> MediaAccount:
        access = get_access(self.request)
        pk = self.kwargs["pk"]
        return get_for(access, selectors.account_detail(pk), pk)
