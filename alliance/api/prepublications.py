"""Pre-publication requests in the API (see alliance/api/__init__.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alliance import permissions as perms
from alliance import selectors, services
from alliance.api.common import (
    _ACCOUNT_ERRORS,
    _DATETIME_ERRORS,
    _ERRORS,
    AllianceAccountSerializer,
    AllianceUnitSerializer,
    Conflict,
    _access,
    _AllianceViewSet,
    _call,
    _errors,
    _not_found,
    _user_name,
)
from alliance.choices import PrepubAction, PrepubState, PrepubTopic
from alliance.models import (
    Prepublication,
    PrepubStep,
)
from approvals.api import ErrorSerializer, _actor
from campusmedia.models import MediaAccount
from campusmedia.permissions import get_access

# --- Pre-publication requests -------------------------------------------------------------------

# API step → (the step as alliance.permissions names it, its name in messages). ``edit`` is the
# PATCH.
PREPUB_STEPS: dict[str, tuple[str, Any]] = {
    "edit": ("edit", _("修改")),
    "approve": ("decide", PrepubAction.APPROVE.label),
    "return": ("decide", PrepubAction.RETURN.label),
    "resubmit": ("resubmit", PrepubAction.RESUBMIT.label),
    "withdraw": ("withdraw", PrepubAction.WITHDRAW.label),
    "file": ("file", PrepubAction.FILE.label),
}


class PrepubListSerializer(serializers.ModelSerializer):
    account = AllianceAccountSerializer(read_only=True)
    owner_unit = AllianceUnitSerializer(read_only=True)
    topic_display = serializers.CharField(source="get_topic_display", read_only=True)
    state = serializers.CharField(read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    submitted_by = serializers.SerializerMethodField()

    class Meta:
        model = Prepublication
        fields = [
            "id",
            "account",
            "owner_unit",
            "topic",
            "topic_display",
            "title",
            "state",
            "state_display",
            "planned_at",
            "submitted_by",
            "submitted_at",
            "decided_at",
            "published_at",
        ]
        read_only_fields = fields

    def get_submitted_by(self, prepub: Prepublication) -> str:
        return _user_name(prepub.submitted_by)


class PrepubStepSerializer(serializers.ModelSerializer):
    action = serializers.CharField(read_only=True)
    action_display = serializers.CharField(source="get_action_display", read_only=True)
    source_state = serializers.CharField(read_only=True)
    target_state = serializers.CharField(read_only=True)

    class Meta:
        model = PrepubStep
        fields = [
            "action",
            "action_display",
            "actor_name",
            "at",
            "source_state",
            "target_state",
            "comment",
        ]
        read_only_fields = fields


class PrepubDetailSerializer(PrepubListSerializer):
    decided_by = serializers.SerializerMethodField()
    filed_by = serializers.SerializerMethodField()
    steps = PrepubStepSerializer(many=True, read_only=True)
    actions = serializers.SerializerMethodField()

    class Meta(PrepubListSerializer.Meta):
        fields = [
            *PrepubListSerializer.Meta.fields,
            "content",
            "draft_link",
            "decided_by",
            "decision_comment",
            "published_link",
            "filed_by",
            "filed_at",
            "steps",
            "actions",
        ]
        read_only_fields = fields

    def get_decided_by(self, prepub: Prepublication) -> str:
        return _user_name(prepub.decided_by)

    def get_filed_by(self, prepub: Prepublication) -> str:
        return _user_name(prepub.filed_by)

    def get_actions(self, prepub: Prepublication) -> list[str]:
        """What the caller may do now (``edit`` is the PATCH): the state and the right allow it."""
        access = _access(self)
        return [
            name
            for name, (step, _label) in PREPUB_STEPS.items()
            if perms.may_prepub(step, prepub, access)
        ]


class PrepubCreateSerializer(serializers.Serializer):
    """Only the types are checked here; the services check the values (content or link, a time
    to come) with Chinese messages."""

    account = serializers.PrimaryKeyRelatedField(
        queryset=MediaAccount.objects.none(),
        help_text=_("发布账号：本单位的账号，或你担任管理员的账号"),
        error_messages=_errors(_("发布账号"), **_ACCOUNT_ERRORS),
    )
    topic = serializers.ChoiceField(
        choices=PrepubTopic.choices,
        error_messages=_errors(_("内容类别"), invalid_choice=_("“{input}” 不是可选的类别。")),
    )
    title = serializers.CharField(max_length=100, error_messages=_errors(_("标题")))
    content = serializers.CharField(required=False, allow_blank=True, default="")
    draft_link = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        error_messages=_errors(_("预览链接")),
    )
    planned_at = serializers.DateTimeField(
        error_messages=_errors(_("计划发布时间"), **_DATETIME_ERRORS)
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and getattr(request.user, "is_authenticated", False):
            account = fields["account"]
            assert isinstance(account, serializers.PrimaryKeyRelatedField)
            account.queryset = perms.answerable_accounts(get_access(request))
        return fields


class PrepubEditSerializer(serializers.Serializer):
    """The fields to change; those left out stay as they are."""

    topic = serializers.ChoiceField(
        choices=PrepubTopic.choices,
        required=False,
        error_messages=_errors(_("内容类别"), invalid_choice=_("“{input}” 不是可选的类别。")),
    )
    title = serializers.CharField(required=False, max_length=100, error_messages=_errors(_("标题")))
    content = serializers.CharField(required=False, allow_blank=True)
    draft_link = serializers.CharField(
        required=False, allow_blank=True, max_length=500, error_messages=_errors(_("预览链接"))
    )
    planned_at = serializers.DateTimeField(
        required=False, error_messages=_errors(_("计划发布时间"), **_DATETIME_ERRORS)
    )


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("退回修改时必填。")
    )


class FileSerializer(serializers.Serializer):
    published_link = serializers.CharField(
        allow_blank=True, max_length=500, error_messages=_errors(_("发布链接"))
    )
    published_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("省略时为现在"),
        error_messages=_errors(_("发布时间"), **_DATETIME_ERRORS),
    )


_prepub_step_schema = extend_schema(
    request=CommentSerializer, responses={200: PrepubDetailSerializer, **_ERRORS}
)


@extend_schema(
    parameters=[OpenApiParameter("state", OpenApiTypes.STR, enum=PrepubState.values)],
    responses={200: PrepubListSerializer, 401: ErrorSerializer},
    methods=["GET"],
)
@method_decorator(login_not_required, name="dispatch")
class PrepublicationViewSet(mixins.ListModelMixin, _AllianceViewSet):
    """Pre-publication requests (发布前审批) the caller sees: those of the units they see and of
    the accounts they administer; the department and the auditor see all. Each step is a POST
    to ``…/{id}/<step>/``."""

    queryset = Prepublication.objects.none()

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "list":
            return PrepubListSerializer
        if self.action == "create":
            return PrepubCreateSerializer
        if self.action == "partial_update":
            return PrepubEditSerializer
        if self.action == "file":
            return FileSerializer
        if self.action in ("approve", "return_", "withdraw"):
            return CommentSerializer
        return PrepubDetailSerializer

    def get_queryset(self) -> QuerySet[Prepublication]:
        """Visible requests, ``?state=`` if it names a state (anything else is ignored)."""
        state = self.request.query_params.get("state", "")
        access = get_access(self.request)
        return selectors.prepub_list(
            access, state if state in PrepubState.values else ""
        ).select_related("submitted_by__person")

    def get_object(self) -> Prepublication:
        access = get_access(self.request)
        queryset = Prepublication.objects.select_related(
            "account",
            "owner_unit",
            "submitted_by__person",
            "decided_by__person",
            "filed_by__person",
        ).prefetch_related(Prefetch("steps", queryset=PrepubStep.objects.order_by("at", "id")))
        prepub = perms.visible_prepublications(access, queryset).filter(pk=self._pk()).first()
        if prepub is None:
            raise _not_found()
        return prepub

    def _detail(self, code: int = status.HTTP_200_OK) -> Response:
        prepub = self.get_object()
        return Response(PrepubDetailSerializer(prepub, context=self._context()).data, status=code)

    @extend_schema(responses={200: PrepubDetailSerializer, 404: _ERRORS[404]})
    def retrieve(self, request: Request, pk: str) -> Response:
        return self._detail()

    @extend_schema(
        request=PrepubCreateSerializer, responses={201: PrepubDetailSerializer, **_ERRORS}
    )
    def create(self, request: Request) -> Response:
        """Ask the department to approve a post before it is published, for an account the
        caller answers for (403 for whoever answers for none; 400 for any other account)."""
        if not perms.may_ask_prepublication(get_access(request)):
            raise PermissionDenied
        serializer = PrepubCreateSerializer(data=request.data, context=self._context())
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        prepub = _call(
            lambda: services.prepub_submit(
                account=values["account"],
                actor=_actor(request),
                topic=values["topic"],
                title=values["title"],
                content=values["content"],
                draft_link=values["draft_link"],
                planned_at=values["planned_at"],
                request=request._request,
            )
        )
        self.kwargs["pk"] = prepub.pk
        return self._detail(status.HTTP_201_CREATED)

    def _for_step(self, request: Request, name: str) -> Prepublication:
        """The request, if ``name`` may be taken on it now: 404 out of sight, 403 if the step
        is never the caller's (the auditor's, a head's, a decision on one's own request), 409
        with the reason if it is theirs but not in this state. The service checks again under
        lock (409 if someone else acted in between)."""
        access = get_access(request)
        prepub = self.get_object()
        step, label = PREPUB_STEPS[name]
        if not perms.takes_prepub_step(step, prepub, access):
            raise PermissionDenied
        if not perms.may_prepub(step, prepub, access):
            raise Conflict(
                gettext(services.ERR_PREPUB_NOT_ALLOWED)
                % {"state": prepub.get_state_display(), "step": label}
            )
        return prepub

    @extend_schema(request=PrepubEditSerializer, responses={200: PrepubDetailSerializer, **_ERRORS})
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change the topic, title, text, link or planned time: before the decision or after a
        return (409 in any other state)."""
        prepub = self._for_step(request, "edit")
        serializer = PrepubEditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        if fields:
            _call(
                lambda: services.prepub_edit(
                    prepub=prepub, actor=_actor(request), request=request._request, **fields
                )
            )
        return self._detail()

    def _comment(self, request: Request) -> str:
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return str(serializer.validated_data["comment"])

    @_prepub_step_schema
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        """The department approves (never a request it submitted itself: 403)."""
        prepub = self._for_step(request, "approve")
        comment = self._comment(request)
        _call(
            lambda: services.prepub_decide(
                prepub=prepub,
                actor=_actor(request),
                approve=True,
                comment=comment,
                request=request._request,
            )
        )
        return self._detail()

    @_prepub_step_schema
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: str) -> Response:
        """The department returns the request for changes; ``comment`` is required."""
        prepub = self._for_step(request, "return")
        comment = self._comment(request)
        _call(
            lambda: services.prepub_decide(
                prepub=prepub,
                actor=_actor(request),
                approve=False,
                comment=comment,
                request=request._request,
            )
        )
        return self._detail()

    @extend_schema(request=None, responses={200: PrepubDetailSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def resubmit(self, request: Request, pk: str) -> Response:
        prepub = self._for_step(request, "resubmit")
        _call(
            lambda: services.prepub_resubmit(
                prepub=prepub, actor=_actor(request), request=request._request
            )
        )
        return self._detail()

    @_prepub_step_schema
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        prepub = self._for_step(request, "withdraw")
        comment = self._comment(request)
        _call(
            lambda: services.prepub_withdraw(
                prepub=prepub, actor=_actor(request), comment=comment, request=request._request
            )
        )
        return self._detail()

    @extend_schema(request=FileSerializer, responses={200: PrepubDetailSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def file(self, request: Request, pk: str) -> Response:
        """File the link of what was published (after approval)."""
        prepub = self._for_step(request, "file")
        serializer = FileSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        _call(
            lambda: services.prepub_file(
                prepub=prepub,
                actor=_actor(request),
                published_link=values["published_link"],
                published_at=values["published_at"],
                request=request._request,
            )
        )
        return self._detail()
