"""The annual review (年检): a campaign per year, one form per active account, close orders.

The steps of a form are declared here with django-fsm-2 and carry no side effects; who may take
them is decided in ``annual_review.permissions`` and what they do in ``annual_review.services``.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from annual_review.choices import Outcome, Progress, ReviewAction, ReviewState
from approvals.choices import RequestKind, RequestState
from approvals.models import AccountRequest
from approvals.routing import Route, route_for
from campusmedia.choices import TIER_OF_KIND
from campusmedia.models import MediaAccount, Unit

S = ReviewState


def _may(step: str):
    """The fsm ``permission`` hook: asks annual_review.permissions with a fresh look at roles."""

    def check(instance: ReviewForm, user: Any) -> bool:
        from annual_review.permissions import may
        from campusmedia.permissions import Access

        return may(step, instance, Access(user))

    check.__name__ = f"may_{step}"
    return check


def _reopened(instance: Any) -> bool:
    """A concluded form goes back to the unit only when the conclusion was "rectify"."""
    return instance.state != S.CONCLUDED or instance.outcome == Outcome.RECTIFY


def _has_first_signoff(instance: Any) -> bool:
    return instance.route.first_signoff


def _first_signoff_done(instance: Any) -> bool:
    return instance.state == S.SIGNED or not instance.route.first_signoff


class ReviewCampaign(models.Model):
    """The review of one year, opened by the propaganda department."""

    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    title = models.CharField(_("名称"), max_length=100)
    instructions = models.TextField(_("填报说明"), blank=True)
    starts_on = models.DateField(_("开始日期"))
    due_on = models.DateField(_("截止日期"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("开启时间"), default=timezone.now)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("年检")
        verbose_name_plural = _("年检")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("annual_review:campaign", args=[self.year])

    @property
    def is_overdue(self) -> bool:
        return timezone.localdate() > self.due_on


# Kinds of unit whose forms are signed by the unit (or its approver) before the department.
_SIGNING_KINDS = [kind for kind, tier in TIER_OF_KIND.items() if route_for(tier).first_signoff]


class ReviewFormQuerySet(models.QuerySet["ReviewForm"]):
    def unanswered(self) -> ReviewFormQuerySet:
        """Not yet with the department: never submitted, returned, or reopened for rectifying."""
        return self.filter(
            Q(state__in=[S.DRAFT, S.RETURNED]) | Q(state=S.CONCLUDED, outcome=Outcome.RECTIFY)
        )

    def overdue(self, on: datetime.date | None = None) -> ReviewFormQuerySet:
        """Not with the department after the campaign's due date, or not rectified by the
        rectify date."""
        on = on or timezone.localdate()
        return self.filter(
            Q(state__in=[S.DRAFT, S.RETURNED], campaign__due_on__lt=on)
            # Submitted but never signed by the unit's head: the unit did not answer either.
            | Q(state=S.SUBMITTED, campaign__due_on__lt=on, owner_unit__kind__in=_SIGNING_KINDS)
            | Q(state=S.CONCLUDED, outcome=Outcome.RECTIFY, rectify_by__lt=on)
        )


class ReviewForm(ConcurrentTransitionMixin, models.Model):
    """The 年检表 of one account for one campaign.

    Account data and team are read from the registry while the unit fills the form and kept in
    ``snapshot`` when it is submitted, so a signed form says what the unit confirmed.
    """

    campaign = models.ForeignKey(
        ReviewCampaign, verbose_name=_("年检"), on_delete=models.PROTECT, related_name="forms"
    )
    account = models.ForeignKey(
        MediaAccount, verbose_name=_("账号"), on_delete=models.PROTECT, related_name="reviews"
    )
    # The account's unit when the form was made: access and progress go by it.
    owner_unit = models.ForeignKey(
        Unit, verbose_name=_("主办单位"), on_delete=models.PROTECT, related_name="reviews"
    )
    state = FSMField(
        _("状态"), max_length=12, choices=ReviewState.choices, default=S.DRAFT, protected=True
    )
    outcome = models.CharField(_("结论"), max_length=8, choices=Outcome.choices, blank=True)
    started_at = models.DateTimeField(_("开始填报"), null=True, blank=True)
    registry_confirmed = models.BooleanField(_("登记信息无误"), default=False)
    follower_count = models.PositiveIntegerField(_("粉丝量"), null=True, blank=True)
    post_count = models.PositiveIntegerField(_("全年发布数"), null=True, blank=True)
    original_post_count = models.PositiveIntegerField(_("其中原创数"), null=True, blank=True)
    incident_count = models.PositiveSmallIntegerField(
        _("安全事件与违规（次）"), null=True, blank=True
    )
    incidents = models.TextField(_("安全事件与违规情况"), blank=True)
    training = models.TextField(_("参加培训情况"), blank=True)
    self_assessment = models.TextField(_("自查自评"), blank=True)
    next_year_plan = models.TextField(_("下一年度工作计划"), blank=True)
    snapshot = models.JSONField(_("提交时的登记信息"), default=dict, blank=True, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(_("签署时间"), null=True, blank=True)
    sign_comment = models.TextField(_("单位意见"), blank=True)
    concluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    concluded_at = models.DateTimeField(_("结论时间"), null=True, blank=True)
    conclusion = models.TextField(_("宣传部意见"), blank=True)
    rectify_by = models.DateField(_("整改期限"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReviewFormQuerySet.as_manager()

    class Meta:
        ordering = ["owner_unit__sort_order", "owner_unit__name", "account__name", "id"]
        verbose_name = _("年检表")
        verbose_name_plural = _("年检表")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "account"], name="review_form_once"),
        ]
        indexes = [
            models.Index(fields=["campaign", "state"]),
            models.Index(fields=["campaign", "owner_unit"]),
        ]

    def __str__(self) -> str:
        return f"{self.campaign.year} · {self.account.name}"

    def get_absolute_url(self) -> str:
        return reverse("annual_review:form_detail", args=[self.pk])

    def clean_fields(self, exclude: Any = None) -> None:
        # A protected FSMField refuses assignment, which full_clean would attempt.
        super().clean_fields(exclude={*(exclude or ()), "state"})

    @property
    def route(self) -> Route:
        return route_for(self.owner_unit.tier)

    @property
    def progress(self) -> str:
        return progress_of(self.state, self.outcome, self.started_at is not None)

    # --- The steps (DOMAIN.md section 6). Bodies stay empty: effects live in services. ---

    @transition(
        field=state,
        source=[S.DRAFT, S.RETURNED, S.CONCLUDED],
        target=S.SUBMITTED,
        conditions=[_reopened],
        permission=_may("submit"),
    )
    def submit(self) -> None:
        pass

    @transition(
        field=state,
        source=S.SUBMITTED,
        target=S.SIGNED,
        conditions=[_has_first_signoff],
        permission=_may("sign"),
    )
    def sign(self) -> None:
        pass

    @transition(
        field=state,
        source=[S.SUBMITTED, S.SIGNED],
        target=S.CONCLUDED,
        conditions=[_first_signoff_done],
        permission=_may("conclude"),
    )
    def conclude(self) -> None:
        pass

    @transition(
        field=state,
        source=[S.SUBMITTED, S.SIGNED],
        target=S.RETURNED,
        permission=_may("review"),
    )
    def return_for_changes(self) -> None:
        pass


def progress_of(state: str, outcome: str, started: bool) -> str:
    if state == S.CONCLUDED:
        return outcome or Progress.PASS
    if state == S.SUBMITTED:
        return Progress.SUBMITTED
    if state == S.SIGNED:
        return Progress.SIGNED
    if state == S.RETURNED or started:
        return Progress.IN_PROGRESS
    return Progress.NOT_STARTED


class ReviewStep(models.Model):
    """The timeline of a form: one row per step, written in the step's transaction."""

    form = models.ForeignKey(ReviewForm, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(_("操作人"), max_length=150)
    action = models.CharField(_("操作"), max_length=16, choices=ReviewAction.choices)
    source_state = models.CharField(_("原状态"), max_length=12, choices=ReviewState.choices)
    target_state = models.CharField(_("新状态"), max_length=12, choices=ReviewState.choices)
    outcome = models.CharField(_("结论"), max_length=8, choices=Outcome.choices, blank=True)
    comment = models.TextField(_("意见"), blank=True)
    ip = models.GenericIPAddressField(_("来源IP"), null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("年检记录")
        verbose_name_plural = _("年检记录")

    def __str__(self) -> str:
        return f"{self.form_id} · {self.get_action_display()} · {self.actor_name}"


def _close_requests() -> models.QuerySet[AccountRequest]:
    """The close requests that answer an order on the account (``OuterRef``): submitted, and not
    withdrawn or rejected. One already under way when the order came answers it too."""
    return AccountRequest.objects.filter(
        account_id=OuterRef("account_id"), kind=RequestKind.CLOSE, submitted_at__isnull=False
    ).exclude(state__in=[RequestState.WITHDRAWN, RequestState.REJECTED])


class CloseOrderQuerySet(models.QuerySet["CloseOrder"]):
    def with_filing(self) -> CloseOrderQuerySet:
        """Annotate ``filed_at``: when the unit submitted the close request that answers it."""
        filed = _close_requests().order_by("submitted_at").values("submitted_at")[:1]
        return self.annotate(filed_at=Subquery(filed))

    def open(self) -> CloseOrderQuerySet:
        return self.filter(~Exists(_close_requests()))

    def overdue(self, on: datetime.date | None = None) -> CloseOrderQuerySet:
        return self.open().filter(due_on__lt=on or timezone.localdate())


class CloseOrder(models.Model):
    """An order to close an account (责令注销): the unit files a close request by ``due_on``.

    Tracked like the 3-day rule: open until a close request is submitted, late after ``due_on``.
    """

    account = models.ForeignKey(
        MediaAccount, verbose_name=_("账号"), on_delete=models.PROTECT, related_name="close_orders"
    )
    review = models.ForeignKey(
        ReviewForm,
        verbose_name=_("年检表"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="close_orders",
    )
    reason = models.TextField(_("理由"))
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ordered_at = models.DateTimeField(_("责令时间"), default=timezone.now)
    due_on = models.DateField(_("停办申请截止"))

    objects = CloseOrderQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("责令注销")
        verbose_name_plural = _("责令注销")

    def __str__(self) -> str:
        return f"{self.account} · {self.due_on}"

    @property
    def owner_unit_id(self) -> int:
        return self.account.owner_unit_id


class ZeroReport(models.Model):
    """A unit with no account answers the campaign with a zero report (零报告)."""

    campaign = models.ForeignKey(
        ReviewCampaign, on_delete=models.CASCADE, related_name="zero_reports"
    )
    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.PROTECT)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField(_("报送时间"), default=timezone.now)

    class Meta:
        ordering = ["unit__sort_order", "unit__name"]
        verbose_name = _("零报告")
        verbose_name_plural = _("零报告")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "unit"], name="zero_report_once"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign.year} · {self.unit}"

    @property
    def owner_unit_id(self) -> int:
        return self.unit_id
