"""The alliance's policy notices in the API (see alliance/api/__init__.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alliance import permissions as perms
from alliance import selectors, services
from alliance.api.common import (
    _ERRORS,
    _access,
    _AllianceViewSet,
    _call,
    _errors,
    _not_found,
    _user_name,
)
from alliance.models import (
    Notice,
    NoticeAttachment,
    NoticeReceipt,
)
from approvals.api import ErrorSerializer, _actor
from campusmedia.permissions import get_access

# --- Notices ------------------------------------------------------------------------------------


class NoticeListSerializer(serializers.ModelSerializer):
    """A notice; the figures (recipients, read, last reminder) only for the department and the
    auditor, null for everyone else."""

    posted_by = serializers.SerializerMethodField()
    is_recipient = serializers.SerializerMethodField()
    read_at = serializers.DateTimeField(
        source="my_read_at",
        read_only=True,
        allow_null=True,
        help_text=_("我确认阅读的时间；未读或不是接收人时为 null"),
    )
    recipient_count = serializers.SerializerMethodField()
    read_count = serializers.SerializerMethodField()
    reminded_at = serializers.SerializerMethodField()

    class Meta:
        model = Notice
        fields = [
            "id",
            "title",
            "posted_by",
            "posted_at",
            "is_recipient",
            "read_at",
            "recipient_count",
            "read_count",
            "reminded_at",
        ]
        read_only_fields = fields

    def get_posted_by(self, notice: Notice) -> str:
        return _user_name(notice.posted_by)

    def get_is_recipient(self, notice: Any) -> bool:
        return bool(notice.mine)

    def get_recipient_count(self, notice: Any) -> int | None:
        return notice.recipient_count if perms.reads_all(_access(self)) else None

    def get_read_count(self, notice: Any) -> int | None:
        return notice.read_count if perms.reads_all(_access(self)) else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_reminded_at(self, notice: Notice) -> str | None:
        if notice.reminded_at is None or not perms.reads_all(_access(self)):
            return None
        return serializers.DateTimeField().to_representation(notice.reminded_at)


class NoticeAttachmentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = NoticeAttachment
        fields = ["id", "name", "size", "url"]
        read_only_fields = fields

    def get_url(self, attachment: NoticeAttachment) -> str:
        """The download, through the page's access check."""
        return reverse("alliance:notice_attachment", args=[attachment.pk])


class NoticeReceiptSerializer(serializers.Serializer):
    name = serializers.SerializerMethodField()
    unit = serializers.SerializerMethodField()
    read_at = serializers.DateTimeField(allow_null=True)

    def get_name(self, receipt: NoticeReceipt) -> str:
        return _user_name(receipt.user)

    def get_unit(self, receipt: NoticeReceipt) -> str:
        person = getattr(receipt.user, "person", None)
        return person.unit.name if person is not None and person.unit is not None else ""


class NoticeDetailSerializer(NoticeListSerializer):
    attachments = NoticeAttachmentSerializer(many=True, read_only=True)
    receipts = serializers.SerializerMethodField()

    class Meta(NoticeListSerializer.Meta):
        fields = [*NoticeListSerializer.Meta.fields, "body", "attachments", "receipts"]
        read_only_fields = fields

    @extend_schema_field(NoticeReceiptSerializer(many=True, allow_null=True))
    def get_receipts(self, notice: Notice) -> list[dict[str, Any]] | None:
        """Who has read it, unread first: the department and the auditor only (else null)."""
        if not perms.reads_all(_access(self)):
            return None
        rows = selectors.notice_receipts(notice)
        return NoticeReceiptSerializer(rows, many=True).data  # type: ignore[return-value]


class NoticeCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100, error_messages=_errors(_("标题")))
    body = serializers.CharField(error_messages=_errors(_("正文")))


class RemindResultSerializer(serializers.Serializer):
    reminded = serializers.IntegerField(help_text=_("本次提醒的未读人数"))


@extend_schema(responses={200: NoticeListSerializer, 401: ErrorSerializer}, methods=["GET"])
@method_decorator(login_not_required, name="dispatch")
class NoticeViewSet(mixins.ListModelMixin, _AllianceViewSet):
    """Policy notices (政策通知): a recipient sees the notices sent to them and confirms reading;
    the department and the auditor see every notice with its receipts."""

    queryset = Notice.objects.none()

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "list":
            return NoticeListSerializer
        if self.action == "create":
            return NoticeCreateSerializer
        return NoticeDetailSerializer

    def get_queryset(self) -> QuerySet[Notice]:
        """Visible notices with the figures and the caller's own reading time, one query per
        page (a recipient has at most one receipt per notice, so ``Max`` is that receipt's)."""
        access = get_access(self.request)
        return (
            selectors.notice_list(access)
            .select_related("posted_by__person")
            .annotate(
                my_read_at=Max("receipts__read_at", filter=Q(receipts__user_id=access.user.pk))
            )
        )

    def get_object(self) -> Notice:
        notice = (
            self.get_queryset()
            .prefetch_related(
                Prefetch("attachments", queryset=NoticeAttachment.objects.order_by("id"))
            )
            .filter(pk=self._pk())
            .first()
        )
        if notice is None:
            raise _not_found()
        return notice

    def _detail(self, code: int = status.HTTP_200_OK) -> Response:
        notice = self.get_object()
        return Response(NoticeDetailSerializer(notice, context=self._context()).data, status=code)

    @extend_schema(responses={200: NoticeDetailSerializer, 404: _ERRORS[404]})
    def retrieve(self, request: Request, pk: str) -> Response:
        return self._detail()

    @extend_schema(
        request=NoticeCreateSerializer, responses={201: NoticeDetailSerializer, **_ERRORS}
    )
    def create(self, request: Request) -> Response:
        """Post a notice to every secretary and account administrator with a login (the
        secretariat only). JSON ``title`` and ``body``; attachments are added on the page, the
        API takes none."""
        if not perms.is_secretariat(get_access(request)):
            raise PermissionDenied
        serializer = NoticeCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        notice = _call(
            lambda: services.notice_post(
                actor=_actor(request),
                title=values["title"],
                body=values["body"],
                request=request._request,
            )
        )
        self.kwargs["pk"] = notice.pk
        return self._detail(status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: NoticeDetailSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str) -> Response:
        """Confirm reading (recipients only: 403 for anyone else who sees the notice). A second
        confirmation keeps the first time."""
        notice = self.get_object()
        _call(lambda: services.notice_read(notice=notice, actor=_actor(request)))
        return self._detail()

    @extend_schema(
        request=None,
        responses={
            200: RemindResultSerializer,
            **_ERRORS,
            400: OpenApiResponse(description=_("所有接收人都已阅读")),
            409: OpenApiResponse(ErrorSerializer, description=_("提醒间隔未到")),
        },
    )
    @action(detail=True, methods=["post"])
    def remind(self, request: Request, pk: str) -> Response:
        """Remind everyone who has not read the notice (the secretariat only); 409 within the
        interval since the last reminder, 400 when everyone has read it."""
        notice = self.get_object()
        if not perms.is_secretariat(get_access(request)):
            raise PermissionDenied
        count = _call(
            lambda: services.notice_remind(
                notice=notice, actor=_actor(request), request=request._request
            )
        )
        return Response(RemindResultSerializer({"reminded": count}).data)
