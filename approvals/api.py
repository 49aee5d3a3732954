"""The request workflow in the API (v1): file, read and move requests; report an opening.

Same rules as the pages: every object comes through ``approvals.permissions`` (an outsider gets
404, a reader without the right 403) and every write through ``approvals.services``. The
services' errors become HTTP answers here: ``ValidationError`` → 400 with the Chinese messages
keyed by field, ``PermissionDenied`` → 403, ``RequestConflict`` → 409 with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from approvals import services
from approvals.choices import RequestKind, RequestState
from approvals.models import AccountRequest, Attachment, ProposedMember, RequestStep
from approvals.permissions import may, visible_requests, waiting_for
from campusmedia import selectors
from campusmedia.api.pagination import CountPagination
from campusmedia.api.serializers import AccountDetailSerializer, LabelField, UnitBriefSerializer
from campusmedia.auditlog import audit_record
from campusmedia.choices import TeamRole
from campusmedia.masking import mask_email, mask_mobile
from campusmedia.models import MediaAccount, Person, Platform, Unit, User
from campusmedia.models.audit import AuditAction, AuditOutcome
from campusmedia.permissions import Access, Action, get_access, get_for

T = TypeVar("T")

# API step → (transition on AccountRequest, step asked of approvals.permissions.may).
STEPS: dict[str, tuple[str, str]] = {
    "submit": ("submit", "submit"),
    "endorse": ("endorse", "endorse"),
    "approve": ("approve", "decide"),
    "return": ("return_for_changes", "review"),
    "reject": ("reject", "review"),
    "withdraw": ("withdraw", "withdraw"),
}
# The rights behind each step, without the state: someone who holds none of them could not take
# the step in any state, so they get 403 before the state is looked at (an auditor's attempt is
# refused as such, never answered with "not in this state"). ``upload`` is the unit keeper's
# right, which ``submit`` asks together with the editable states.
STEP_RIGHTS: dict[str, tuple[str, ...]] = {
    "submit": ("upload",),
    "endorse": ("endorse",),
    "approve": ("decide",),
    "return": ("endorse", "decide"),
    "reject": ("endorse", "decide"),
    "withdraw": ("withdraw",),
}
SERVICES: dict[str, Callable[..., AccountRequest]] = {
    "submit": services.request_submit,
    "endorse": services.request_endorse,
    "approve": services.request_approve,
    "return": services.request_return,
    "reject": services.request_reject,
    "withdraw": services.request_withdraw,
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("该申请的状态已变化，请刷新后再操作。")
    default_code = "conflict"


def _service_call(call: Callable[[], T], *, non_field_key: str | None = None) -> T:
    """Run a service and turn its errors into API errors (400 by field, 409 with the reason).

    ``PermissionDenied`` and ``Http404`` pass through: DRF answers them with 403 and 404.
    """
    try:
        return call()
    except DjangoValidationError as error:
        if hasattr(error, "error_dict"):
            raise exceptions.ValidationError(error.message_dict) from error
        key = non_field_key or api_settings.NON_FIELD_ERRORS_KEY
        raise exceptions.ValidationError({key: error.messages}) from error
    except services.RequestConflict as error:
        raise Conflict(str(error)) from error


def _actor(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):  # IsAuthenticated has already refused anonymous callers
        raise exceptions.NotAuthenticated
    return user


def _audit_denied(request: Request, exc: Exception) -> None:
    """A refusal is logged as the pages log it (``campusmedia.views.permission_denied``)."""
    if isinstance(exc, PermissionDenied | exceptions.PermissionDenied) and getattr(
        request.user, "is_authenticated", False
    ):
        audit_record(
            action=AuditAction.PERMISSION_DENIED,
            actor=request.user,
            request=request._request,
            outcome=AuditOutcome.DENIED,
            detail={"path": request.path[:200], "method": request.method},
        )


# --- Serializers: output ------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class AccountBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = MediaAccount
        fields = ["id", "name", "status"]


class RequestListSerializer(serializers.ModelSerializer):
    kind_display = LabelField(RequestKind, source="kind")
    state_display = LabelField(RequestState, source="state")
    display_name = serializers.CharField(read_only=True)
    owner_unit = UnitBriefSerializer(read_only=True)
    account = AccountBriefSerializer(read_only=True, allow_null=True)
    tier = serializers.IntegerField(read_only=True)
    submitted_by = serializers.CharField(
        source="submitted_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = AccountRequest
        fields = [
            "id",
            "kind",
            "kind_display",
            "state",
            "state_display",
            "display_name",
            "owner_unit",
            "account",
            "tier",
            "approval_number",
            "is_late",
            "submitted_by",
            "submitted_at",
            "decided_at",
            "created_at",
        ]


class ProposedMemberSerializer(serializers.ModelSerializer):
    """A proposed team member; contact data masked, as everywhere in the API."""

    role_display = LabelField(TeamRole, source="role")
    mobile = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()

    class Meta:
        model = ProposedMember
        fields = ["role", "role_display", *services.MEMBER_FIELDS[1:]]

    def get_mobile(self, member: ProposedMember) -> str:
        return mask_mobile(member.mobile)

    def get_email(self, member: ProposedMember) -> str:
        return mask_email(member.email)


class RequestStepSerializer(serializers.ModelSerializer):
    action_display = serializers.CharField(source="get_action_display", read_only=True)

    class Meta:
        model = RequestStep
        fields = [
            "action",
            "action_display",
            "actor_name",
            "at",
            "source_state",
            "target_state",
            "comment",
        ]


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "kind", "original_name", "size", "uploaded_at"]


class RequestDetailSerializer(RequestListSerializer):
    team = ProposedMemberSerializer(many=True, read_only=True)
    steps = RequestStepSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    actions = serializers.SerializerMethodField()

    class Meta(RequestListSerializer.Meta):
        fields = [
            *RequestListSerializer.Meta.fields,
            "data",
            "before",
            "reason",
            "team",
            "steps",
            "attachments",
            "actions",
        ]

    def get_actions(self, account_request: AccountRequest) -> list[str]:
        """The steps this user may take now: the state allows them and so does their right."""
        access = get_access(self.context["request"])
        return [
            name
            for name, (transition, step) in STEPS.items()
            if can_proceed(getattr(account_request, transition))
            and may(step, account_request, access)
        ]


# --- Serializers: input -------------------------------------------------------------------------


def _access_of(serializer: serializers.Field) -> Access | None:
    """The caller's Access; None without a signed-in caller (the schema generated offline), in
    which case related fields keep their empty querysets."""
    request = serializer.context.get("request")
    if request is None or not getattr(request.user, "is_authenticated", False):
        return None
    return get_access(request)


def _limit(field: serializers.Field, queryset: QuerySet[Any]) -> None:
    """Narrow a related field to what the caller may see: the rest reads as "does not exist"."""
    assert isinstance(field, serializers.PrimaryKeyRelatedField)
    field.queryset = queryset


class ProposedDataSerializer(serializers.Serializer):
    """The proposed account (``services.ACCOUNT_FIELDS``). Only the types are checked here; the
    services check the values as the registry would store them, with Chinese messages."""

    name = serializers.CharField(required=False, allow_blank=True)
    platform = serializers.SlugRelatedField(
        slug_field="code", queryset=Platform.objects.all(), required=False
    )
    account_type = serializers.CharField(required=False, allow_blank=True)
    account_id = serializers.CharField(required=False, allow_blank=True)
    content_categories = serializers.ListField(child=serializers.CharField(), required=False)
    content_forms = serializers.ListField(child=serializers.CharField(), required=False)
    function_description = serializers.CharField(required=False, allow_blank=True)
    planned_opening_on = serializers.DateField(required=False, allow_null=True)
    opened_on = serializers.DateField(required=False, allow_null=True)
    verification = serializers.CharField(required=False, allow_blank=True)
    verification_note = serializers.CharField(required=False, allow_blank=True)
    follower_count = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    operator_count = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    url = serializers.CharField(required=False, allow_blank=True)


class ProposedMemberInputSerializer(serializers.Serializer):
    """One member of the proposed team. With ``person`` (someone the caller may see), the fields
    left out are taken from that person's record."""

    role = serializers.ChoiceField(choices=TeamRole.choices)
    person = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.none(), required=False, allow_null=True
    )
    name = serializers.CharField(required=False, allow_blank=True)
    title = serializers.CharField(required=False, allow_blank=True)
    office_phone = serializers.CharField(required=False, allow_blank=True)
    mobile = serializers.CharField(required=False, allow_blank=True)
    email = serializers.CharField(required=False, allow_blank=True)
    wechat_id = serializers.CharField(required=False, allow_blank=True)
    is_student = serializers.BooleanField(required=False)
    expected_end = serializers.DateField(required=False, allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        access = _access_of(self)
        if access is not None:
            _limit(fields["person"], access.people(Person.objects.all()))
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        person = attrs.get("person")
        if person is not None:
            for name in services.MEMBER_FIELDS:
                if name not in attrs and name not in ("role", "person"):
                    attrs[name] = getattr(person, name)
        return attrs


class RequestCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    owner_unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none())
    account = serializers.PrimaryKeyRelatedField(
        queryset=MediaAccount.objects.none(), required=False, allow_null=True
    )
    # The metaclass moves declared fields off the class, so this shadows no Serializer.data.
    data = ProposedDataSerializer(required=False)  # type: ignore[assignment]
    team = ProposedMemberInputSerializer(many=True, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        access = _access_of(self)
        if access is not None:
            _limit(fields["owner_unit"], access.units(Unit.objects.all()))
            _limit(fields["account"], access.accounts(MediaAccount.objects.all()))
        return fields


class StepSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("退回和不予通过时必填。")
    )


class ReportOpeningSerializer(serializers.Serializer):
    account_id = serializers.CharField(required=False, allow_blank=True, default="")
    opened_on = serializers.DateField(required=False, allow_null=True, default=None)
    pledge = serializers.FileField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("签字盖章的承诺书（PDF/JPEG/PNG）"),
    )


# --- Views --------------------------------------------------------------------------------------


class PDFRenderer(BaseRenderer):
    """Lets ``Accept: application/pdf`` through to the PDF action; errors stay JSON text."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data, ensure_ascii=False).encode()


def _number(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


_ERRORS = {
    400: OpenApiResponse(description=_("输入有误：按字段给出中文说明")),
    403: OpenApiResponse(ErrorSerializer, description=_("无权执行该操作")),
    404: OpenApiResponse(ErrorSerializer, description=_("不存在或无权查看")),
    409: OpenApiResponse(ErrorSerializer, description=_("当前状态下不能执行，或已被他人处理")),
}
_step_schema = extend_schema(
    request=StepSerializer, responses={200: RequestDetailSerializer, **_ERRORS}
)


@extend_schema(
    parameters=[
        OpenApiParameter("state", OpenApiTypes.STR, enum=RequestState.values),
        OpenApiParameter("kind", OpenApiTypes.STR, enum=RequestKind.values),
        OpenApiParameter("unit", OpenApiTypes.INT, description="单位ID（含下级单位）"),
        OpenApiParameter("inbox", OpenApiTypes.BOOL, description="只列出等待我处理的申请"),
    ],
    methods=["GET"],
)
@method_decorator(login_not_required, name="dispatch")
class RequestViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Requests the caller may see; each step is a POST to ``/requests/{id}/<step>/``."""

    pagination_class = CountPagination
    # Tells the schema the model (and so the id's type); the rows come from get_queryset.
    queryset = AccountRequest.objects.none()

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "list":
            return RequestListSerializer
        if self.action == "create":
            return RequestCreateSerializer
        if self.action in STEPS:
            return StepSerializer
        return RequestDetailSerializer

    def handle_exception(self, exc: Exception) -> Response:
        _audit_denied(self.request, exc)
        return super().handle_exception(exc)

    def get_queryset(self) -> QuerySet[AccountRequest]:
        """The list: visible requests, filtered; one query per page whatever its length."""
        access = get_access(self.request)
        qs = visible_requests(
            access, AccountRequest.objects.select_related("owner_unit", "account", "submitted_by")
        )
        params = self.request.query_params
        if (state := params.get("state", "")) in RequestState.values:
            qs = qs.filter(state=state)
        if (kind := params.get("kind", "")) in RequestKind.values:
            qs = qs.filter(kind=kind)
        if unit := _number(params.get("unit")):
            qs = qs.filter(
                Q(owner_unit_id=unit)
                | Q(owner_unit__parent_id=unit)
                | Q(owner_unit__parent__parent_id=unit)
            )
        if params.get("inbox", "").lower() in ("1", "true", "yes"):
            qs = waiting_for(access, qs)
        return qs.order_by("-created_at", "-id")

    def _detail_queryset(self) -> QuerySet[AccountRequest]:
        return AccountRequest.objects.select_related(
            "owner_unit", "account", "submitted_by"
        ).prefetch_related(
            Prefetch("team", queryset=ProposedMember.objects.order_by("position", "id")),
            Prefetch("steps", queryset=RequestStep.objects.order_by("at", "id")),
            Prefetch("attachments", queryset=Attachment.objects.order_by("uploaded_at", "id")),
        )

    def get_object(self) -> AccountRequest:
        """404 for a request the caller may not see (another unit's, or someone else's draft)."""
        access = get_access(self.request)
        queryset = visible_requests(access, self._detail_queryset())
        return get_for(access, queryset, self.kwargs["pk"])

    def _detail(self, pk: int, **kwargs: Any) -> Response:
        account_request = self._detail_queryset().get(pk=pk)
        serializer = RequestDetailSerializer(account_request, context=self.get_serializer_context())
        return Response(serializer.data, **kwargs)

    @extend_schema(
        request=RequestCreateSerializer, responses={201: RequestDetailSerializer, **_ERRORS}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A draft. The owning unit (and the account, for a change or a closure) must be one the
        caller may see; filing needs the unit keeper's right (403 otherwise). A change proposes
        the account's current values and team for whatever the body leaves out."""
        access = get_access(request)
        if access.unit_ids(Action.MANAGE) == set():  # keeps no unit's accounts: files nothing
            raise PermissionDenied
        serializer = RequestCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        account = values.get("account")
        data = dict(values.get("data") or {})
        team = [dict(row) for row in values["team"]] if "team" in values else None
        if values["kind"] == RequestKind.CHANGE and account is not None:
            # A change starts from the account as it is: what the body leaves out stays.
            data = {**services.account_data(account), **data}
            team = services.team_of(account) if team is None else team
        created = _service_call(
            lambda: services.request_create(
                kind=values["kind"],
                owner_unit=values["owner_unit"],
                account=account,
                actor=_actor(request),
                data=data,
                team=team,
                reason=values["reason"],
                request=request._request,
            )
        )
        return self._detail(created.pk, status=status.HTTP_201_CREATED)

    def _step(self, request: Request, name: str) -> Response:
        """Visible (else 404), a right that could ever allow the step (else 403), then the
        service, which checks the state (409) and the right at this moment (403) under lock."""
        access = get_access(request)
        account_request = get_for(
            access,
            visible_requests(
                access, AccountRequest.objects.select_related("owner_unit", "account")
            ),
            self.kwargs["pk"],
        )
        if not any(may(right, account_request, access) for right in STEP_RIGHTS[name]):
            raise PermissionDenied
        serializer = StepSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        extra = {} if name == "submit" else {"comment": serializer.validated_data["comment"]}
        _service_call(
            lambda: SERVICES[name](
                account_request=account_request,
                actor=_actor(request),
                request=request._request,
                **extra,
            )
        )
        return self._detail(account_request.pk)

    @_step_schema
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        return self._step(request, "submit")

    @_step_schema
    @action(detail=True, methods=["post"])
    def endorse(self, request: Request, pk: str) -> Response:
        return self._step(request, "endorse")

    @_step_schema
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._step(request, "approve")

    @_step_schema
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: str) -> Response:
        return self._step(request, "return")

    @_step_schema
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        return self._step(request, "reject")

    @_step_schema
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        return self._step(request, "withdraw")

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            404: _ERRORS[404],
        }
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, PDFRenderer])
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        """The approval form (审批表) as a PDF, to whoever may see the request."""
        from approvals.pdf import render_approval_form  # written alongside; imported when used

        access = get_access(request)
        account_request = self.get_object()
        # Contact data in full only for those who file it (the unit's keepers, the propaganda
        # department), as for a person's reveal; heads and the auditor get the masked copy.
        masked = not access.can(Action.MANAGE, account_request.owner_unit_id)
        content = render_approval_form(account_request, masked=masked)
        response = HttpResponse(content, content_type="application/pdf")
        name = account_request.approval_number or f"request-{account_request.pk}"
        response["Content-Disposition"] = (
            content_disposition_header(True, f"{name}.pdf") or "attachment"
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        return response


@method_decorator(login_not_required, name="dispatch")
class ReportOpeningView(APIView):
    """``POST /api/v1/accounts/{id}/report-opening/`` (multipart): the unit reports the platform
    account id and opening date of an approved account with the signed pledge; it becomes active."""

    parser_classes = [MultiPartParser, FormParser]

    def handle_exception(self, exc: Exception) -> Response:
        _audit_denied(self.request, exc)
        return super().handle_exception(exc)

    @extend_schema(
        request={"multipart/form-data": ReportOpeningSerializer},
        responses={200: AccountDetailSerializer, **_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        access = get_access(request)
        account = get_for(access, MediaAccount.objects.all(), pk, Action.MANAGE)
        serializer = ReportOpeningSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        _service_call(
            lambda: services.account_report_opening(
                account=account,
                actor=_actor(request),
                account_id=values["account_id"],
                opened_on=values["opened_on"],
                pledge=values["pledge"],
                request=request._request,
            ),
            non_field_key="pledge",  # the upload checks name no field: the file is the pledge
        )
        fresh = selectors.account_detail(pk).get(pk=pk)
        return Response(AccountDetailSerializer(fresh, context={"request": request}).data)
