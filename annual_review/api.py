"""The annual review in the API (v1): read forms, fill them in, and take the steps.

The rules of the requests API (``approvals/api.py``) hold here too: every form comes through
``annual_review.permissions`` (an outsider gets 404, a reader without the right 403) and every
write through ``annual_review.services``, whose errors become HTTP answers: ``ValidationError``
→ 400 with Chinese messages keyed by field, each naming its field; ``PermissionDenied`` → 403;
``ReviewConflict`` (or a form no longer with the unit) → 409 with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Prefetch, Q, QuerySet
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    Direction,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from annual_review import services
from annual_review.choices import Outcome, ReviewAction, ReviewState
from annual_review.models import ReviewCampaign, ReviewForm, ReviewStep
from annual_review.permissions import may, visible_forms
from approvals.api import ErrorSerializer, _actor, _audit_denied, _number
from approvals.choices import TeamChangeSource
from approvals.models import TeamChangeEvent
from campusmedia.api.pagination import CountPagination
from campusmedia.api.serializers import LabelField, UnitBriefSerializer
from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.models import MediaAccount
from campusmedia.permissions import Access, Action, get_access, get_for

T = TypeVar("T")

# API step → (transition on ReviewForm, step asked of annual_review.permissions.may).
STEPS: dict[str, tuple[str, str]] = {
    "submit": ("submit", "submit"),
    "sign": ("sign", "sign"),
    "conclude": ("conclude", "conclude"),
    "return": ("return_for_changes", "review"),
}


def _manages(form: ReviewForm, access: Access) -> bool:
    return bool(access.user.is_authenticated) and access.can(Action.MANAGE, form.owner_unit_id)


# The rights behind each step, without the state: someone who holds none of them could not take
# the step in any state, so they get 403 before the state is looked at (the auditor's attempt is
# refused as such, never answered with "not in this state"). ``may("sign")`` and
# ``may("conclude")`` ask no state; ``may("review")`` does, so ``return`` asks either of them.
STEP_RIGHTS: dict[str, Callable[[ReviewForm, Access], bool]] = {
    "edit": _manages,
    "submit": _manages,
    "sign": lambda form, access: may("sign", form, access),
    "conclude": lambda form, access: may("conclude", form, access),
    "return": lambda form, access: may("sign", form, access) or may("conclude", form, access),
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("该年检表的状态已变化，请刷新后再操作。")
    default_code = "conflict"


def _labelled(errors: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """Each message names its field (``粉丝量：请填写合法的整数值。``), as the services' own
    messages do; a message that already starts with the field's label is left as it is."""
    out: dict[str, Any] = {}
    for name, messages in errors.items():
        label = labels.get(name)
        if label is None or not isinstance(messages, list | tuple):
            out[name] = messages
            continue
        prefix = f"{label}："
        out[name] = [
            str(m) if str(m).startswith(prefix) else f"{prefix}{m}"
            for m in messages
            if isinstance(m, str)
        ]
    return out


def _field_labels(serializer: serializers.Serializer | None = None) -> dict[str, str]:
    """Labels of the form's fields and of the input serializer's, in the active language."""
    labels = {
        name: str(ReviewForm._meta.get_field(name).verbose_name) for name in services.FORM_FIELDS
    }
    if serializer is not None:
        for name, field in serializer.fields.items():
            if field.label:
                labels[name] = str(field.label)
    return labels


def _invalid(serializer: serializers.Serializer) -> exceptions.ValidationError:
    return exceptions.ValidationError(_labelled(serializer.errors, _field_labels(serializer)))


def _service_call(call: Callable[[], T], serializer: serializers.Serializer | None = None) -> T:
    """Run a service and turn its errors into API errors (400 by field, 409 with the reason).

    ``PermissionDenied`` and ``Http404`` pass through: DRF answers them with 403 and 404.
    """
    try:
        return call()
    except DjangoValidationError as error:
        if hasattr(error, "error_dict"):
            raise exceptions.ValidationError(
                _labelled(error.message_dict, _field_labels(serializer))
            ) from error
        key = api_settings.NON_FIELD_ERRORS_KEY
        raise exceptions.ValidationError({key: error.messages}) from error
    except services.ReviewConflict as error:
        raise Conflict(str(error)) from error


def _not_with_unit(form: ReviewForm) -> Conflict:
    """409 for an edit of a form that waits for the head or the department, or is concluded."""
    return Conflict(
        gettext(services.ERR_NOT_ALLOWED)
        % {"state": form.get_state_display(), "step": gettext("修改")}
    )


# --- Serializers: output ------------------------------------------------------------------------


class CodeField(serializers.ChoiceField):
    """A stored code of a review vocabulary. The schema names its enum (``ReviewStateEnum``…)
    instead of naming it after the field, so the enums of the same field names in the requests
    API (``state``, ``action``, ``source_state``…) keep their names."""

    def __init__(self, vocabulary: type[models.Choices], *, enum_name: str, **kwargs: Any) -> None:
        self.vocabulary = vocabulary
        self.enum_name = enum_name
        super().__init__(choices=vocabulary.choices, **kwargs)


class CodeFieldExtension(OpenApiSerializerFieldExtension):
    target_class = CodeField

    def get_name(self) -> str:
        return str(self.target.enum_name)

    def map_serializer_field(self, auto_schema: Any, direction: Direction) -> dict[str, Any]:
        vocabulary = self.target.vocabulary
        codes = [*([""] if self.target.allow_blank else []), *vocabulary.values]
        lines = [f"* `{code}` - {label}" for code, label in vocabulary.choices]
        if self.target.allow_blank:
            lines.insert(0, f"* `` - {gettext('（空）')}")
        return {"type": "string", "enum": codes, "description": "\n".join(lines)}


@extend_schema_field(OpenApiTypes.STR)
class CodeLabelField(LabelField):
    """The label of a code (``draft`` → ``待填报``): a string in the schema, not the codes."""


def _state_field(**kwargs: Any) -> CodeField:
    return CodeField(ReviewState, enum_name="ReviewStateEnum", read_only=True, **kwargs)


def _outcome_field() -> CodeField:
    return CodeField(Outcome, enum_name="ReviewOutcomeEnum", read_only=True, allow_blank=True)


class ReviewCampaignBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewCampaign
        fields = ["id", "year", "title", "starts_on", "due_on"]


class ReviewAccountSerializer(serializers.ModelSerializer):
    platform = serializers.CharField(source="platform.code", read_only=True)
    platform_name = serializers.CharField(source="platform.name", read_only=True)
    status_display = CodeLabelField(AccountStatus, source="status")

    class Meta:
        model = MediaAccount
        fields = [
            "id",
            "name",
            "account_id",
            "platform",
            "platform_name",
            "status",
            "status_display",
        ]


class ReviewListSerializer(serializers.ModelSerializer):
    year = serializers.IntegerField(source="campaign.year", read_only=True)
    account = ReviewAccountSerializer(read_only=True)
    owner_unit = UnitBriefSerializer(read_only=True)
    tier = serializers.IntegerField(source="owner_unit.tier", read_only=True)
    state = _state_field()
    state_display = CodeLabelField(ReviewState, source="state")
    outcome = _outcome_field()
    outcome_display = serializers.SerializerMethodField()

    class Meta:
        model = ReviewForm
        fields = [
            "id",
            "year",
            "account",
            "owner_unit",
            "tier",
            "state",
            "state_display",
            "outcome",
            "outcome_display",
            "started_at",
            "submitted_at",
            "signed_at",
            "concluded_at",
            "rectify_by",
            "updated_at",
        ]
        read_only_fields = fields

    def get_outcome_display(self, form: ReviewForm) -> str:
        """The conclusion's label; empty while there is none."""
        return form.get_outcome_display() if form.outcome else ""


class ReviewStepSerializer(serializers.ModelSerializer):
    action = CodeField(ReviewAction, enum_name="ReviewActionEnum", read_only=True)
    action_display = serializers.CharField(source="get_action_display", read_only=True)
    source_state = _state_field()
    target_state = _state_field()
    outcome = _outcome_field()
    outcome_display = serializers.SerializerMethodField()

    class Meta:
        model = ReviewStep
        fields = [
            "action",
            "action_display",
            "actor_name",
            "at",
            "source_state",
            "target_state",
            "outcome",
            "outcome_display",
            "comment",
        ]

    def get_outcome_display(self, step: ReviewStep) -> str:
        return step.get_outcome_display() if step.outcome else ""


class ReviewTeamChangeSerializer(serializers.ModelSerializer):
    """One of the year's team changes; ``is_late`` is the system's reckoning of the 3-day rule
    (filed after the due date, or still open past it), not the unit's word."""

    person_name = serializers.CharField(source="person.name", read_only=True)
    role_display = CodeLabelField(TeamRole, source="role")
    # The metaclass moves declared fields off the class, so this shadows no Field.source.
    source = CodeField(  # type: ignore[assignment]
        TeamChangeSource, enum_name="TeamChangeSourceEnum", read_only=True
    )
    source_display = CodeLabelField(TeamChangeSource, source="source")
    is_late = serializers.BooleanField(read_only=True)

    class Meta:
        model = TeamChangeEvent
        fields = [
            "id",
            "person_name",
            "role",
            "role_display",
            "happened_on",
            "due_on",
            "source",
            "source_display",
            "filed_at",
            "filed_by_request",
            "is_late",
        ]
        read_only_fields = fields


class ReviewDetailSerializer(ReviewListSerializer):
    campaign = ReviewCampaignBriefSerializer(read_only=True)
    submitted_by = serializers.CharField(
        source="submitted_by.username", read_only=True, allow_null=True
    )
    signed_by = serializers.CharField(source="signed_by.username", read_only=True, allow_null=True)
    concluded_by = serializers.CharField(
        source="concluded_by.username", read_only=True, allow_null=True
    )
    team_changes = serializers.SerializerMethodField()
    steps = ReviewStepSerializer(many=True, read_only=True)
    actions = serializers.SerializerMethodField()

    class Meta(ReviewListSerializer.Meta):
        fields = [
            *ReviewListSerializer.Meta.fields,
            "campaign",
            *services.FORM_FIELDS,
            "snapshot",
            "submitted_by",
            "signed_by",
            "sign_comment",
            "concluded_by",
            "conclusion",
            "team_changes",
            "steps",
            "actions",
        ]
        read_only_fields = fields

    @extend_schema_field(ReviewTeamChangeSerializer(many=True))
    def get_team_changes(self, form: ReviewForm) -> list[dict[str, Any]]:
        """The account's team changes in the campaign's year (one query)."""
        rows = services.year_team_changes(form)
        return ReviewTeamChangeSerializer(rows, many=True).data  # type: ignore[return-value]

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=["edit", *STEPS]))
    )
    def get_actions(self, form: ReviewForm) -> list[str]:
        """What this user may do now: ``edit`` (PATCH) and the steps the state and their right
        allow."""
        access = get_access(self.context["request"])
        found = ["edit"] if may("edit", form, access) else []
        return found + [
            name
            for name, (transition, step) in STEPS.items()
            if can_proceed(getattr(form, transition)) and may(step, form, access)
        ]


# --- Serializers: input -------------------------------------------------------------------------


class ReviewUpdateSerializer(serializers.ModelSerializer):
    """What the unit fills in (``services.FORM_FIELDS``), any subset. Only the types are checked
    here; the services check the values (original posts within all posts, …)."""

    class Meta:
        model = ReviewForm
        fields = list(services.FORM_FIELDS)


class ReviewCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(
        label=_("意见"),
        required=False,
        allow_blank=True,
        default="",
        help_text=_("退回时必填；签署时可写单位意见。"),
    )


class ReviewConcludeSerializer(ReviewCommentSerializer):
    outcome = CodeField(
        Outcome,
        enum_name="ConcludeOutcomeEnum",
        label=_("结论"),
        error_messages={
            "required": _(services.ERR_OUTCOME),
            "invalid_choice": _(services.ERR_OUTCOME),
            "null": _(services.ERR_OUTCOME),
        },
    )
    comment = serializers.CharField(
        label=_("意见"),
        required=False,
        allow_blank=True,
        default="",
        help_text=_("限期整改或不合格时必填。"),
    )
    rectify_by = serializers.DateField(
        label=_("整改期限"),
        required=False,
        allow_null=True,
        default=None,
        help_text=_("限期整改时必填，今天以后的日期。"),
    )


# --- Views --------------------------------------------------------------------------------------


_ERRORS = {
    400: OpenApiResponse(description=_("输入有误：按字段给出中文说明")),
    403: OpenApiResponse(ErrorSerializer, description=_("无权执行该操作")),
    404: OpenApiResponse(ErrorSerializer, description=_("不存在或无权查看")),
    409: OpenApiResponse(ErrorSerializer, description=_("当前状态下不能执行，或已被他人处理")),
}


@extend_schema(
    parameters=[
        OpenApiParameter("year", OpenApiTypes.INT, description="年度"),
        OpenApiParameter("unit", OpenApiTypes.INT, description="单位ID（含下级单位）"),
        OpenApiParameter("state", OpenApiTypes.STR, enum=ReviewState.values),
    ],
    methods=["GET"],
)
@method_decorator(login_not_required, name="dispatch")
class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Review forms (年检表) the caller may see; the unit fills one in with ``PATCH`` and each step
    is a POST to ``/reviews/{id}/<step>/``."""

    pagination_class = CountPagination
    # Tells the schema the model (and so the id's type); the rows come from get_queryset.
    queryset = ReviewForm.objects.none()

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "list":
            return ReviewListSerializer
        if self.action == "partial_update":
            return ReviewUpdateSerializer
        if self.action == "conclude":
            return ReviewConcludeSerializer
        if self.action in ("sign", "return_"):
            return ReviewCommentSerializer
        return ReviewDetailSerializer

    def handle_exception(self, exc: Exception) -> Response:
        _audit_denied(self.request, exc)
        return super().handle_exception(exc)

    def get_queryset(self) -> QuerySet[ReviewForm]:
        """The list: visible forms, filtered; one query per page whatever its length."""
        access = get_access(self.request)
        qs = visible_forms(
            access,
            ReviewForm.objects.select_related(
                "campaign", "account", "account__platform", "owner_unit"
            ),
        )
        params = self.request.query_params
        if year := _number(params.get("year")):
            qs = qs.filter(campaign__year=year)
        if (state := params.get("state", "")) in ReviewState.values:
            qs = qs.filter(state=state)
        if unit := _number(params.get("unit")):
            qs = qs.filter(
                Q(owner_unit_id=unit)
                | Q(owner_unit__parent_id=unit)
                | Q(owner_unit__parent__parent_id=unit)
            )
        return qs.order_by(
            "-campaign__year", "owner_unit__sort_order", "owner_unit__name", "account__name", "id"
        )

    def _detail_queryset(self) -> QuerySet[ReviewForm]:
        return ReviewForm.objects.select_related(
            "campaign",
            "account",
            "account__platform",
            "owner_unit",
            "submitted_by",
            "signed_by",
            "concluded_by",
        ).prefetch_related(Prefetch("steps", queryset=ReviewStep.objects.order_by("at", "id")))

    def get_object(self) -> ReviewForm:
        """404 for a form of a unit the caller may not see."""
        access = get_access(self.request)
        return get_for(access, visible_forms(access, self._detail_queryset()), self.kwargs["pk"])

    def _detail(self, pk: int) -> Response:
        form = self._detail_queryset().get(pk=pk)
        serializer = ReviewDetailSerializer(form, context=self.get_serializer_context())
        return Response(serializer.data)

    def _visible(self, request: Request) -> tuple[ReviewForm, Access]:
        access = get_access(request)
        queryset = visible_forms(
            access, ReviewForm.objects.select_related("owner_unit", "account", "campaign")
        )
        return get_for(access, queryset, self.kwargs["pk"]), access

    @extend_schema(
        request=ReviewUpdateSerializer, responses={200: ReviewDetailSerializer, **_ERRORS}
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Save what the unit filled in, while the form is with the unit (a draft, returned, or
        concluded "rectify"): 403 without the unit keeper's right, 409 in another state."""
        form, access = self._visible(request)
        if not STEP_RIGHTS["edit"](form, access):
            raise PermissionDenied
        if not may("edit", form, access):  # keeps the unit's accounts: the state is wrong
            raise _not_with_unit(form)
        serializer = ReviewUpdateSerializer(data=request.data, partial=True)
        if not serializer.is_valid():
            raise _invalid(serializer)
        try:
            _service_call(
                lambda: services.form_update(
                    form=form,
                    actor=_actor(request),
                    data=serializer.validated_data,
                    request=request._request,
                ),
                serializer,
            )
        except PermissionDenied:
            # The form left the unit's hands since it was read: say so, as for a step.
            fresh = ReviewForm.objects.get(pk=form.pk)
            if _manages(fresh, access) and not may("edit", fresh, access):
                raise _not_with_unit(fresh) from None
            raise
        return self._detail(form.pk)

    def _step(self, request: Request, name: str) -> Response:
        """Visible (else 404), a right that could ever allow the step (else 403), then the
        service, which checks the state (409) and the right at this moment (403) under lock."""
        form, access = self._visible(request)
        if not STEP_RIGHTS[name](form, access):
            raise PermissionDenied
        service: Callable[..., ReviewForm] = services.form_submit
        extra: dict[str, Any] = {}
        serializer: serializers.Serializer | None = None
        if name == "conclude":
            serializer = ReviewConcludeSerializer(data=request.data)
            service = services.form_conclude
        elif name in ("sign", "return"):
            serializer = ReviewCommentSerializer(data=request.data)
            service = services.form_sign if name == "sign" else services.form_return
        if serializer is not None:
            if not serializer.is_valid():
                raise _invalid(serializer)
            extra = dict(serializer.validated_data)
        actor = _actor(request)
        _service_call(
            lambda: service(form=form, actor=actor, request=request._request, **extra), serializer
        )
        return self._detail(form.pk)

    @extend_schema(request=None, responses={200: ReviewDetailSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        """The unit submits the filled-in form (every required field, the registry confirmed)."""
        return self._step(request, "submit")

    @extend_schema(
        request=ReviewCommentSerializer, responses={200: ReviewDetailSerializer, **_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str) -> Response:
        """The unit's sign-off (tiers 2 and 3), with an optional comment."""
        return self._step(request, "sign")

    @extend_schema(
        request=ReviewConcludeSerializer, responses={200: ReviewDetailSerializer, **_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def conclude(self, request: Request, pk: str) -> Response:
        """The department's conclusion: pass, rectify by a date, or fail."""
        return self._step(request, "conclude")

    @extend_schema(
        request=ReviewCommentSerializer, responses={200: ReviewDetailSerializer, **_ERRORS}
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: str) -> Response:
        """Back to the unit for changes, with a comment, by whoever the form waits for."""
        return self._step(request, "return")
