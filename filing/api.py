"""Municipal filing batches in the API (v1).

``GET /api/v1/batches/`` and ``/{id}/`` (the department and the auditor), ``POST
/api/v1/batches/`` starts a batch, ``POST …/{id}/generate/``, ``…/send/`` (``{"email": false}``
for a paper-only sending) and ``…/receipts/`` (``{"receipts": [{"item": 12, "receipt":
"filed"}, {"item": 13, "receipt": "returned", "note": "…"}]}``, all or none). The rules of the
pages hold: everything goes through ``filing.services``; a step the batch's state does not allow
gives 409 with the reason; anyone but the department gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from approvals.api import ErrorSerializer, _actor, _audit_denied
from campusmedia.permissions import get_access
from filing import selectors, services
from filing.choices import Receipt
from filing.models import Batch, BatchItem, BatchPacket
from filing.permissions import may_run_batches, may_view_batches

T = TypeVar("T")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("批次的状态已变化，请刷新后再操作。")
    default_code = "conflict"


def _call(call: Callable[[], T]) -> T:
    try:
        return call()
    except services.BatchConflict as error:
        raise Conflict(" ".join(error.messages)) from error
    except DjangoValidationError as error:
        if hasattr(error, "error_dict"):
            raise exceptions.ValidationError(error.message_dict) from error
        raise exceptions.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
        ) from error


class ItemSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    receipt_label = serializers.CharField(source="get_receipt_display", read_only=True)
    office = serializers.CharField(source="office.name", read_only=True)

    class Meta:
        model = BatchItem
        fields = [
            "id",
            "account",
            "account_name",
            "unit_name",
            "office",
            "kind",
            "kind_label",
            "receipt",
            "receipt_label",
            "receipt_note",
            "receipt_at",
        ]
        read_only_fields = fields


class PacketSerializer(serializers.ModelSerializer):
    office = serializers.CharField(source="office.name", read_only=True)
    ready = serializers.SerializerMethodField()

    class Meta:
        model = BatchPacket
        fields = ["id", "office", "item_count", "size", "sha256", "sent_at", "sent_to", "ready"]
        read_only_fields = fields

    def get_ready(self, packet: BatchPacket) -> bool:
        return bool(packet.file)


class BatchSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="__str__", read_only=True)  # type: ignore[assignment]
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    percent = serializers.IntegerField(read_only=True)
    n_items = serializers.IntegerField(read_only=True)
    n_filed = serializers.IntegerField(read_only=True)
    n_returned = serializers.IntegerField(read_only=True)

    class Meta:
        model = Batch
        fields = [
            "id",
            "label",
            "year",
            "seq",
            "city",
            "state",
            "state_label",
            "note",
            "created_at",
            "generated_at",
            "sent_at",
            "progress_done",
            "progress_total",
            "percent",
            "error",
            "n_items",
            "n_filed",
            "n_returned",
        ]
        read_only_fields = fields


class BatchDetailSerializer(BatchSerializer):
    items = ItemSerializer(many=True, read_only=True)
    packets = PacketSerializer(many=True, read_only=True)

    class Meta(BatchSerializer.Meta):
        fields = [*BatchSerializer.Meta.fields, "packets", "items"]
        read_only_fields = fields


class BatchCreateSerializer(serializers.Serializer):
    note = serializers.CharField(label=_("备注"), required=False, allow_blank=True, max_length=500)


class SendSerializer(serializers.Serializer):
    email = serializers.BooleanField(label=_("电子邮件报送"), required=False, default=True)


class ReceiptLineSerializer(serializers.Serializer):
    item = serializers.IntegerField(label=_("报备事项"))
    receipt = serializers.ChoiceField(
        label=_("回执"), choices=[Receipt.FILED.value, Receipt.RETURNED.value]
    )
    note = serializers.CharField(
        label=_("退回原因"), required=False, allow_blank=True, max_length=500
    )


class ReceiptsSerializer(serializers.Serializer):
    receipts = ReceiptLineSerializer(many=True, allow_empty=False)


_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description=_("输入有误")),
    403: OpenApiResponse(ErrorSerializer, description=_("只有党委宣传部可以办理")),
    409: OpenApiResponse(ErrorSerializer, description=_("批次当前的状态不允许该操作")),
}


class BatchViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = BatchSerializer

    def handle_exception(self, exc: Exception) -> Response:
        _audit_denied(self.request, exc)
        return super().handle_exception(exc)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        access = get_access(request._request)
        if not may_view_batches(access):
            raise exceptions.PermissionDenied(_("只有党委宣传部和审计员可以查看报备批次。"))
        if request.method not in ("GET", "HEAD", "OPTIONS") and not may_run_batches(access):
            raise exceptions.PermissionDenied(_(services.ERR_NOT_ALLOWED))

    def get_queryset(self) -> QuerySet[Batch]:
        queryset = selectors.batch_list()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("items__office", "packets__office")
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return BatchDetailSerializer if self.action == "retrieve" else BatchSerializer

    def _detail(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        batch = self.get_queryset().prefetch_related("items__office", "packets__office").get(pk=pk)
        return Response(BatchDetailSerializer(batch).data, status=code)

    @extend_schema(request=BatchCreateSerializer, responses={201: BatchDetailSerializer, **_ERRORS})
    def create(self, request: Request) -> Response:
        serializer = BatchCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = _call(
            lambda: services.batch_create(
                actor=_actor(request),
                note=serializer.validated_data.get("note", ""),
                request=request._request,
            )
        )
        return self._detail(batch.pk, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: BatchDetailSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def generate(self, request: Request, pk: str) -> Response:
        batch = self.get_object()
        _call(
            lambda: services.batch_generate(
                batch=batch, actor=_actor(request), request=request._request
            )
        )
        return self._detail(batch.pk)

    @extend_schema(request=SendSerializer, responses={200: BatchDetailSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def send(self, request: Request, pk: str) -> Response:
        batch = self.get_object()
        serializer = SendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _call(
            lambda: services.batch_send(
                batch=batch,
                actor=_actor(request),
                email=serializer.validated_data["email"],
                request=request._request,
            )
        )
        return self._detail(batch.pk)

    @extend_schema(request=ReceiptsSerializer, responses={200: BatchDetailSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def receipts(self, request: Request, pk: str) -> Response:
        batch = self.get_object()
        serializer = ReceiptsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lines = serializer.validated_data["receipts"]
        items = {i.pk: i for i in batch.items.filter(pk__in=[line["item"] for line in lines])}
        missing = [line["item"] for line in lines if line["item"] not in items]
        if missing:
            raise exceptions.ValidationError(
                {"receipts": [_("报备事项 %(ids)s 不属于该批次。") % {"ids": missing}]}
            )
        _call(
            lambda: services.receipts_record(
                batch=batch,
                lines=[
                    services.ReceiptLine(items[line["item"]], line["receipt"], line.get("note", ""))
                    for line in lines
                ],
                actor=_actor(request),
                request=request._request,
            )
        )
        return self._detail(batch.pk)
