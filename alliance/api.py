"""The alliance in the API (v1): coordinated publishing tasks, policy notices and pre-publication
requests.

The rules of the pages hold: every object comes through ``alliance.permissions`` (an outsider gets
404, a reader without the right, the auditor on every write, 403 with an audit row) and every
write through ``alliance.services``. The services' errors become HTTP answers here:
``ValidationError`` → 400 with the Chinese messages keyed by field, ``PermissionDenied`` → 403,
``AllianceConflict`` → 409 with the reason.

* ``/api/v1/alliance/tasks/``: list, detail (with the assignments the caller sees), create (the
  secretariat), ``POST …/{id}/answer/`` (``{"account": 12, "done": true, "post_link": "…"}`` or
  ``{"account": 12, "done": false, "reason": "…"}``).
* ``/api/v1/alliance/notices/``: list, detail, create (the secretariat), ``POST …/{id}/read/``
  (recipients), ``POST …/{id}/remind/`` (the secretariat).
* ``/api/v1/alliance/prepublications/``: list (``?state=``), detail (with the steps), create,
  ``PATCH``, and ``POST …/{id}/<step>/`` for ``approve``, ``return``, ``resubmit``, ``withdraw``
  and ``file``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Max, Prefetch, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
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

from alliance import permissions as perms
from alliance import selectors, services
from alliance.choices import PrepubAction, PrepubState, PrepubTopic
from alliance.models import (
    Assignment,
    Notice,
    NoticeAttachment,
    NoticeReceipt,
    Prepublication,
    PrepubStep,
    Task,
)
from approvals.api import ErrorSerializer, _actor, _audit_denied
from campusmedia.api.pagination import CountPagination
from campusmedia.models import MediaAccount, User
from campusmedia.permissions import Access, get_access

T = TypeVar("T")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("状态已变化，请刷新后再操作。")
    default_code = "conflict"


def _call(call: Callable[[], T]) -> T:
    """Run a service and turn its errors into API errors (400 by field, 403, 409 with the
    reason). ``AllianceConflict`` is a ``ValidationError``, so it is caught first."""
    try:
        return call()
    except services.AllianceConflict as error:
        raise Conflict(" ".join(error.messages)) from error
    except DjangoValidationError as error:
        if hasattr(error, "error_dict"):
            raise exceptions.ValidationError(error.message_dict) from error
        raise exceptions.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
        ) from error
    except PermissionDenied as error:  # keeps the service's reason, if it gave one
        raise exceptions.PermissionDenied(str(error) or None) from error


def _errors(label: Any, **messages: Any) -> dict[str, Any]:
    """DRF's input messages named after the field, as the services name theirs
    ("完成时限：请填写。"). ``{pk_value}`` and the like are left for DRF to fill in."""
    texts = {
        "required": _("请填写。"),
        "blank": _("请填写。"),
        "null": _("请填写。"),
        "invalid": _("格式不正确。"),
        "max_length": _("不能超过 {max_length} 个字符。"),
        **messages,
    }
    return {key: format_lazy("{}：{}", label, text) for key, text in texts.items()}


_ACCOUNT_ERRORS = {
    "does_not_exist": _("账号 {pk_value} 不存在或不在你的范围内。"),
    "incorrect_type": _("应为账号编号。"),
}
_DATETIME_ERRORS = {"invalid": _("时间格式不正确，应为 ISO 8601（如 2026-09-01T20:00:00+08:00）。")}


def _user_name(user: User | None) -> str:
    """The name the pages show for a user: their person's name, else the login name."""
    if user is None:
        return ""
    person = getattr(user, "person", None)
    return person.name if person is not None else user.get_username()


def _access(serializer: serializers.Field) -> Access:
    return get_access(serializer.context["request"])


def _not_found() -> Http404:
    return Http404(gettext("不存在或无权查看。"))


_ERRORS = {
    400: OpenApiResponse(description=_("输入有误：按字段给出中文说明")),
    403: OpenApiResponse(ErrorSerializer, description=_("无权执行该操作")),
    404: OpenApiResponse(ErrorSerializer, description=_("不存在或无权查看")),
    409: OpenApiResponse(ErrorSerializer, description=_("当前状态下不能执行，或已被他人处理")),
}


# --- Shared pieces ------------------------------------------------------------------------------


class AllianceAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = MediaAccount
        fields = ["id", "name"]


class AllianceUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class _AllianceViewSet(viewsets.GenericViewSet):
    pagination_class = CountPagination

    def handle_exception(self, exc: Exception) -> Response:
        _audit_denied(self.request, exc)
        return super().handle_exception(exc)

    def _context(self) -> dict[str, Any]:
        return self.get_serializer_context()

    def _pk(self) -> int:
        """The id in the path; anything but a number is a row that does not exist."""
        try:
            return int(self.kwargs["pk"])
        except (TypeError, ValueError) as error:
            raise _not_found() from error


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
