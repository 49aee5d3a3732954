"""The alliance's coordinated tasks in the API (see alliance/api/__init__.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
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
    _ACCOUNT_ERRORS,
    _DATETIME_ERRORS,
    _ERRORS,
    AllianceAccountSerializer,
    AllianceUnitSerializer,
    _access,
    _AllianceViewSet,
    _call,
    _errors,
    _not_found,
    _user_name,
)
from alliance.models import (
    Assignment,
    Task,
)
from approvals.api import ErrorSerializer, _actor
from campusmedia.models import MediaAccount
from campusmedia.permissions import get_access

# --- Tasks --------------------------------------------------------------------------------------


class TaskListSerializer(serializers.ModelSerializer):
    """A task with the counts of the assignments the caller sees."""

    audience_display = serializers.CharField(source="get_audience_display", read_only=True)
    source_account = AllianceAccountSerializer(read_only=True, allow_null=True)
    posted_by = serializers.SerializerMethodField()
    is_overdue = serializers.BooleanField(read_only=True)
    total = serializers.IntegerField(read_only=True)
    done = serializers.IntegerField(read_only=True)
    declined = serializers.IntegerField(read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "link",
            "due_at",
            "is_overdue",
            "audience",
            "audience_display",
            "source_account",
            "posted_by",
            "posted_at",
            "total",
            "done",
            "declined",
        ]
        read_only_fields = fields

    def get_posted_by(self, task: Task) -> str:
        return _user_name(task.posted_by)


class AssignmentSerializer(serializers.ModelSerializer):
    account = AllianceAccountSerializer(read_only=True)
    unit = AllianceUnitSerializer(source="account.owner_unit", read_only=True)
    state = serializers.CharField(read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    is_late = serializers.BooleanField(read_only=True)
    may_answer = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = [
            "account",
            "unit",
            "state",
            "state_display",
            "post_link",
            "reason",
            "answered_at",
            "is_late",
            "may_answer",
        ]
        read_only_fields = fields

    def get_may_answer(self, assignment: Assignment) -> bool:
        return perms.may_answer(_access(self), assignment)


class TaskDetailSerializer(TaskListSerializer):
    assignments = serializers.SerializerMethodField()

    class Meta(TaskListSerializer.Meta):
        fields = [*TaskListSerializer.Meta.fields, "instructions", "assignments"]
        read_only_fields = fields

    @extend_schema_field(AssignmentSerializer(many=True))
    def get_assignments(self, task: Task) -> list[dict[str, Any]]:
        rows = selectors.task_assignments(_access(self), task)
        return AssignmentSerializer(rows, many=True, context=self.context).data  # type: ignore[return-value]


class TaskCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100, error_messages=_errors(_("任务标题")))
    link = serializers.URLField(
        max_length=500, error_messages=_errors(_("原文链接"), invalid=_("请填写有效的网址。"))
    )
    instructions = serializers.CharField(required=False, allow_blank=True, default="")
    due_at = serializers.DateTimeField(error_messages=_errors(_("完成时限"), **_DATETIME_ERRORS))
    source_account = serializers.PrimaryKeyRelatedField(
        queryset=MediaAccount.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        help_text=_("发布原文的账号，一般为学校官方账号。"),
        error_messages=_errors(_("来源账号"), **_ACCOUNT_ERRORS),
    )
    accounts = serializers.PrimaryKeyRelatedField(
        queryset=MediaAccount.objects.none(),
        many=True,
        required=False,
        allow_empty=True,
        help_text=_("指定成员账号的编号；省略时发给全体成员（来源账号除外）。"),
        error_messages=_errors(
            _("发送范围"), not_a_list=_("应为账号编号的列表。"), **_ACCOUNT_ERRORS
        ),
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and getattr(request.user, "is_authenticated", False):
            visible = get_access(request).accounts(MediaAccount.objects.all())
            source = fields["source_account"]
            chosen = fields["accounts"]
            assert isinstance(source, serializers.PrimaryKeyRelatedField)
            assert isinstance(chosen, serializers.ManyRelatedField)
            source.queryset = visible
            chosen.child_relation.queryset = visible
        return fields


class AnswerSerializer(serializers.Serializer):
    account = serializers.IntegerField(
        help_text=_("成员账号的编号"),
        error_messages=_errors(_("账号"), invalid=_("应为账号编号。")),
    )
    done = serializers.BooleanField(
        help_text=_("true：已转发（填写转发链接）；false：不转发（写明原因）"),
        error_messages=_errors(_("完成情况"), invalid=_("应为 true 或 false。")),
    )
    post_link = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        error_messages=_errors(_("转发链接")),
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema(responses={200: TaskListSerializer, 401: ErrorSerializer}, methods=["GET"])
@method_decorator(login_not_required, name="dispatch")
class TaskViewSet(mixins.ListModelMixin, _AllianceViewSet):
    """Coordinated publishing tasks (互联互动) the caller sees: the department and the auditor
    every task, others the tasks addressed to accounts they see, with those accounts' parts."""

    # Tells the schema the model (and so the id's type); the rows come from get_queryset.
    queryset = Task.objects.none()

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "list":
            return TaskListSerializer
        if self.action == "create":
            return TaskCreateSerializer
        if self.action == "answer":
            return AnswerSerializer
        return TaskDetailSerializer

    def get_queryset(self) -> QuerySet[Task]:
        """Visible tasks with the counts of the visible assignments, in one query per page."""
        return selectors.task_list(get_access(self.request)).select_related("posted_by__person")

    def get_object(self) -> Task:
        task = self.get_queryset().filter(pk=self._pk()).first()
        if task is None:
            raise _not_found()
        return task

    def _detail(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        task = self.get_queryset().get(pk=pk)
        return Response(TaskDetailSerializer(task, context=self._context()).data, status=code)

    @extend_schema(responses={200: TaskDetailSerializer, 404: _ERRORS[404]})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(TaskDetailSerializer(self.get_object(), context=self._context()).data)

    @extend_schema(request=TaskCreateSerializer, responses={201: TaskDetailSerializer, **_ERRORS})
    def create(self, request: Request) -> Response:
        """Post a task (the secretariat only). Without ``accounts`` it goes to every member but
        the source account; with them, to those member accounts."""
        if not perms.is_secretariat(get_access(request)):
            raise PermissionDenied
        serializer = TaskCreateSerializer(data=request.data, context=self._context())
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        task = _call(
            lambda: services.task_post(
                actor=_actor(request),
                title=values["title"],
                link=values["link"],
                instructions=values["instructions"],
                due_at=values["due_at"],
                source_account=values["source_account"],
                accounts=values.get("accounts"),
                request=request._request,
            )
        )
        return self._detail(task.pk, status.HTTP_201_CREATED)

    @extend_schema(request=AnswerSerializer, responses={200: TaskDetailSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str) -> Response:
        """Answer for one account: done with the link of its post, or declined with a reason.
        404 if the task or that account's assignment is out of sight; 403 if the caller may not
        answer for the account (a head, the auditor). A later answer replaces an earlier one."""
        access = get_access(request)
        task = self.get_object()
        if not perms.answerable_accounts(access).exists():  # answers for nothing: the auditor
            raise PermissionDenied
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        assignment = (
            perms.visible_assignments(access, task.assignments.select_related("account"))
            .filter(account_id=values["account"])
            .first()
        )
        if assignment is None:
            raise _not_found()
        if not perms.may_answer(access, assignment):
            raise PermissionDenied
        _call(
            lambda: services.assignment_answer(
                assignment=assignment,
                actor=_actor(request),
                done=values["done"],
                post_link=values["post_link"],
                reason=values["reason"],
                request=request._request,
            )
        )
        return self._detail(task.pk)
