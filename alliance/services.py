"""Every way the alliance changes: charter versions, memberships, tasks and their answers,
notices and their receipts, pre-publication requests.

Each function checks the actor's right (``alliance.permissions``), locks what it changes, saves
after ``full_clean``, and writes an audit row in one transaction; messages go out after commit,
so a rolled-back write tells nobody. Refusals name the field in Chinese.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from alliance import permissions as perms
from alliance import selectors
from alliance.choices import (
    AssignmentState,
    MemberRole,
    MembershipState,
    PrepubAction,
    PrepubState,
    TaskAudience,
)
from alliance.models import (
    Assignment,
    CharterVersion,
    Membership,
    Notice,
    NoticeAttachment,
    NoticeReceipt,
    Prepublication,
    PrepubStep,
    Task,
)
from approvals.attachments import clean_upload
from approvals.choices import NotificationVerb
from approvals.notifications import Recipient, notify, recipients
from approvals.services import actor_name
from campusmedia.auditlog import audit_record
from campusmedia.choices import GLOBAL_WRITE_ROLES, AccountStatus, Role, TeamRole, Tier
from campusmedia.models import (
    MediaAccount,
    RoleAssignment,
    TeamMember,
    UnitGroupObjectPermission,
    User,
)
from campusmedia.models.audit import AuditAction
from campusmedia.net import client_ip
from campusmedia.permissions import Access

P = PrepubState

ERR_CHARTER_EFFECTIVE = gettext_noop("生效日期：不能早于第%(number)s版的生效日期（%(date)s）。")
ERR_CHARTER_RACE = gettext_noop("版本号：另一位同事刚刚发布了新版本，请刷新后再试。")
ERR_NOT_TIER_THREE = gettext_noop("账号：一级、二级平台账号自动成为联盟成员，无需申请。")
ERR_NOT_ACTIVE = gettext_noop("账号：只有运行中的账号才能%(what)s。")
ERR_ALREADY = gettext_noop("账号：该账号已是联盟成员或已提交申请。")
ERR_REASON = gettext_noop("申请理由：请写明加入联盟的理由。")
ERR_NOT_APPLIED = gettext_noop("该申请已处理（当前状态：%(state)s），请刷新页面。")
ERR_DECISION_NOTE = gettext_noop("审核意见：不予通过时请写明原因。")
ERR_NOT_MEMBER = gettext_noop("账号：%(names)s 不是联盟成员。")
ERR_NO_ACCOUNTS = gettext_noop("发送范围：请至少选择一个成员账号。")
ERR_NO_MEMBERS = gettext_noop("发送范围：联盟目前没有成员账号。")
ERR_DUE_PAST = gettext_noop("完成时限：不能早于现在。")
ERR_POST_LINK = gettext_noop("转发链接：完成时请填写转发后的链接。")
ERR_DECLINE_REASON = gettext_noop("未转发原因：不转发时请写明原因。")
ERR_NO_RECIPIENTS = gettext_noop("接收人：目前没有在岗的秘书或管理员。")
ERR_REMINDED = gettext_noop("提醒：%(hours)s 小时内已提醒过，请稍后再试。")
ERR_NOTHING_UNREAD = gettext_noop("提醒：所有接收人都已阅读。")
ERR_NOT_RECIPIENT = gettext_noop("该通知不是发给你的。")
ERR_NOTICE_FILE = gettext_noop("%(message)s（文件：%(name)s）")
ERR_PREPUB_CONTENT = gettext_noop("拟发布内容：请填写内容或预览链接（至少一项）。")
ERR_PREPUB_PLANNED = gettext_noop("计划发布时间：不能早于现在。")
ERR_PREPUB_COMMENT = gettext_noop("审批意见：退回修改时请写明原因。")
ERR_PUBLISHED_LINK = gettext_noop("发布链接：请填写发布后的链接。")
ERR_PUBLISHED_AT = gettext_noop("发布时间：不能晚于现在。")
ERR_PREPUB_CONFLICT = gettext_noop(
    "该申请已被他人处理（当前状态：%(state)s），请刷新页面后再操作。"
)
ERR_PREPUB_NOT_ALLOWED = gettext_noop("当前状态（%(state)s）下不能执行“%(step)s”。")


class AllianceConflict(ValidationError):
    """The object moved on before this step (someone else acted first): 409 in the API."""


def _require_secretariat(actor: User) -> Access:
    access = Access(actor)
    if not perms.is_secretariat(access):
        raise PermissionDenied
    return access


# --- Charter ----------------------------------------------------------------------------------


@transaction.atomic
def charter_publish(
    *,
    actor: User,
    title: str,
    body: str,
    effective_on: datetime.date,
    summary: str = "",
    request: HttpRequest | None = None,
) -> CharterVersion:
    """Publish a new version. Versions are numbered without gaps and never edited; a version
    may not take effect before the latest one."""
    _require_secretariat(actor)
    latest = CharterVersion.objects.select_for_update().order_by("-number").first()
    if latest is not None and effective_on < latest.effective_on:
        raise ValidationError(
            {
                "effective_on": _(ERR_CHARTER_EFFECTIVE)
                % {"number": latest.number, "date": latest.effective_on.isoformat()}
            }
        )
    version = CharterVersion(
        number=(latest.number if latest else 0) + 1,
        title=title.strip(),
        body=body.strip(),
        summary=summary.strip(),
        effective_on=effective_on,
        published_by=actor,
    )
    version.full_clean()
    try:
        with transaction.atomic():
            version.save()
    except IntegrityError as error:  # two first versions at once (nothing to lock yet)
        raise AllianceConflict({"number": _(ERR_CHARTER_RACE)}) from error
    audit_record(
        action=AuditAction.CHARTER,
        actor=actor,
        request=request,
        obj=version,
        detail={"number": version.number, "effective_on": effective_on.isoformat()},
    )
    return version


# --- Members ----------------------------------------------------------------------------------


def _lock_membership(account: MediaAccount) -> Membership | None:
    MediaAccount.objects.select_for_update().filter(pk=account.pk).first()
    return Membership.objects.select_for_update().filter(account=account).first()


@transaction.atomic
def membership_apply(
    *, account: MediaAccount, actor: User, reason: str, request: HttpRequest | None = None
) -> Membership:
    """A tier-3 account asks to join; the secretariat decides."""
    access = Access(actor)
    if not perms.may_answer_for(access, account):
        raise PermissionDenied
    if account.owner_unit.tier != Tier.THREE:
        raise ValidationError({"account": _(ERR_NOT_TIER_THREE)})
    if account.status != AccountStatus.ACTIVE:
        raise ValidationError({"account": _(ERR_NOT_ACTIVE) % {"what": _("申请加入联盟")}})
    if not reason.strip():
        raise ValidationError({"reason": _(ERR_REASON)})
    membership = _lock_membership(account)
    if membership is not None and membership.state in (
        MembershipState.APPLIED,
        MembershipState.APPROVED,
    ):
        raise AllianceConflict({"account": _(ERR_ALREADY)})
    membership = membership or Membership(account=account)
    membership.state = MembershipState.APPLIED
    membership.reason = reason.strip()
    membership.applied_by = actor
    membership.applied_at = timezone.now()
    membership.decided_by = None
    membership.decided_at = None
    membership.decision_note = ""
    membership.left_on = None
    membership.full_clean()
    membership.save()
    audit_record(
        action=AuditAction.MEMBERSHIP,
        actor=actor,
        request=request,
        obj=account,
        detail={"step": "apply"},
    )
    transaction.on_commit(
        lambda: notify(
            _secretariat(exclude=actor.pk),
            NotificationVerb.ALLIANCE_TASK,
            _("%(account)s 申请加入新媒体联盟") % {"account": account.name},
            reverse("alliance:members"),
        )
    )
    return membership


@transaction.atomic
def membership_decide(
    *,
    membership: Membership,
    actor: User,
    approve: bool,
    role: str = MemberRole.MEMBER,
    note: str = "",
    request: HttpRequest | None = None,
) -> Membership:
    _require_secretariat(actor)
    locked = _lock_membership(membership.account)
    if locked is None or locked.state != MembershipState.APPLIED:
        state = locked.get_state_display() if locked else ""
        raise AllianceConflict(_(ERR_NOT_APPLIED) % {"state": state})
    if not approve and not note.strip():
        raise ValidationError({"decision_note": _(ERR_DECISION_NOTE)})
    locked.state = MembershipState.APPROVED if approve else MembershipState.REJECTED
    locked.role = role if approve else locked.role
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.decision_note = note.strip()
    locked.joined_on = timezone.localdate() if approve else None
    locked.full_clean()
    locked.save()
    audit_record(
        action=AuditAction.MEMBERSHIP,
        actor=actor,
        request=request,
        obj=locked.account,
        detail={"step": "approve" if approve else "reject", "role": locked.role},
    )
    applicant = locked.applied_by_id
    text = (_("%(account)s 已加入新媒体联盟") if approve else _("%(account)s 的入盟申请未通过")) % {
        "account": locked.account.name
    }
    transaction.on_commit(
        lambda: notify(
            recipients(User.objects.filter(pk=applicant or 0, is_active=True)),
            NotificationVerb.ALLIANCE_TASK,
            text,
            reverse("alliance:members"),
        )
    )
    return locked


@transaction.atomic
def membership_leave(
    *, account: MediaAccount, actor: User, request: HttpRequest | None = None
) -> Membership:
    """A tier-3 member leaves (its keepers decide this; tiers 1 and 2 are members by rule)."""
    locked = _lock_membership(account)
    if not perms.may_leave(Access(actor), account, locked):
        raise PermissionDenied
    assert locked is not None
    locked.state = MembershipState.LEFT
    locked.left_on = timezone.localdate()
    locked.save(update_fields=["state", "left_on"])
    audit_record(
        action=AuditAction.MEMBERSHIP,
        actor=actor,
        request=request,
        obj=account,
        detail={"step": "leave"},
    )
    return locked


@transaction.atomic
def member_role_set(
    *, account: MediaAccount, actor: User, role: str, request: HttpRequest | None = None
) -> Membership:
    """The secretariat gives a member account its role (理事单位, 会员单位)."""
    _require_secretariat(actor)
    if role not in MemberRole.values:
        raise ValidationError({"role": _("成员类别：请选择理事单位或会员单位。")})
    locked = _lock_membership(account)
    if not selectors.is_member(account):
        raise ValidationError({"account": _(ERR_NOT_MEMBER) % {"names": account.name}})
    if locked is None:  # a tier-1 or tier-2 member by rule: its first row
        locked = Membership(
            account=account,
            state=MembershipState.APPROVED,
            decided_by=actor,
            decided_at=timezone.now(),
        )
    before = locked.role
    locked.role = role
    locked.full_clean()
    locked.save()
    audit_record(
        action=AuditAction.MEMBERSHIP,
        actor=actor,
        request=request,
        obj=account,
        detail={"step": "role", "from": before, "to": role},
    )
    return locked


# --- Who hears about what ---------------------------------------------------------------------


def _secretariat(*, exclude: int | None = None) -> list[Recipient]:
    holders = RoleAssignment.objects.active().filter(role__in=GLOBAL_WRITE_ROLES)
    users = User.objects.filter(is_active=True, person__role_assignments__in=holders)
    if exclude is not None:
        users = users.exclude(pk=exclude)
    return recipients(users)


def answerers(account_ids: Iterable[int]) -> dict[Recipient, set[int]]:
    """Who answers for each account: the secretaries of the units that keep it (holders of
    ``manage_unit`` through a secretary role) and its administrators with a login. Three
    queries whatever the number of accounts."""
    ids = list(set(account_ids))
    found: dict[Recipient, set[int]] = defaultdict(set)
    if not ids:
        return found
    unit_of = dict(MediaAccount.objects.filter(pk__in=ids).values_list("pk", "owner_unit_id"))
    groups: dict[int, set[int]] = defaultdict(set)  # group → units it manages
    for group_id, unit_id in UnitGroupObjectPermission.objects.filter(
        content_object_id__in=set(unit_of.values()), permission__codename="manage_unit"
    ).values_list("group_id", "content_object_id"):
        groups[group_id].add(unit_id)
    holders = (
        RoleAssignment.objects.active()
        .filter(group_id__in=groups, role=Role.SECRETARY, person__user__is_active=True)
        .values_list("group_id", "person__user_id", "person__user__username", "person__user__email")
    )
    for group_id, pk, username, email in holders:
        units = groups[group_id]
        found[Recipient(pk, username, email or "")].update(
            a for a, u in unit_of.items() if u in units
        )
    admins = (
        TeamMember.objects.current()
        .filter(
            account_id__in=ids,
            role=TeamRole.ADMINISTRATOR,
            person__user__isnull=False,
            person__user__is_active=True,
        )
        .values_list(
            "account_id", "person__user_id", "person__user__username", "person__user__email"
        )
    )
    for account_id, pk, username, email in admins:
        found[Recipient(pk, username, email or "")].add(account_id)
    return found


# --- Tasks ------------------------------------------------------------------------------------


@transaction.atomic
def task_post(
    *,
    actor: User,
    title: str,
    link: str,
    due_at: datetime.datetime,
    instructions: str = "",
    source_account: MediaAccount | None = None,
    accounts: Sequence[MediaAccount] | None = None,
    request: HttpRequest | None = None,
) -> Task:
    """Post a task to every member (``accounts`` None) or to chosen members."""
    _require_secretariat(actor)
    if due_at <= timezone.now():
        raise ValidationError({"due_at": _(ERR_DUE_PAST)})
    member_ids = set(selectors.members().values_list("pk", flat=True))
    if accounts is None:
        # The account that published the piece is not asked to share it.
        chosen = sorted(member_ids - {source_account.pk if source_account else 0})
        if not chosen:
            raise ValidationError({"accounts": _(ERR_NO_MEMBERS)})
    else:
        if not accounts:
            raise ValidationError({"accounts": _(ERR_NO_ACCOUNTS)})
        outsiders = [a.name for a in accounts if a.pk not in member_ids]
        if outsiders:
            raise ValidationError({"accounts": _(ERR_NOT_MEMBER) % {"names": "、".join(outsiders)}})
        chosen = sorted({a.pk for a in accounts})
    task = Task(
        title=title.strip(),
        link=link.strip(),
        instructions=instructions.strip(),
        due_at=due_at,
        source_account=source_account,
        audience=TaskAudience.ALL if accounts is None else TaskAudience.CHOSEN,
        posted_by=actor,
    )
    task.full_clean()
    task.save()
    Assignment.objects.bulk_create([Assignment(task=task, account_id=pk) for pk in chosen])
    audit_record(
        action=AuditAction.ALLIANCE_TASK,
        actor=actor,
        request=request,
        obj=task,
        detail={"step": "post", "accounts": len(chosen), "audience": task.audience},
    )
    transaction.on_commit(lambda: _tell_answerers(task, chosen))
    return task


def _tell_answerers(task: Task, account_ids: list[int]) -> None:
    text = _("联盟互动任务：%(title)s（%(due)s 前完成）") % {
        "title": task.title,
        "due": timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M"),
    }
    notify(
        list(answerers(account_ids)), NotificationVerb.ALLIANCE_TASK, text, task.get_absolute_url()
    )


@transaction.atomic
def assignment_answer(
    *,
    assignment: Assignment,
    actor: User,
    done: bool,
    post_link: str = "",
    reason: str = "",
    request: HttpRequest | None = None,
) -> Assignment:
    """Mark an account's part done with the link of its post, or declined with a reason. A
    later answer replaces an earlier one (a declined task may still be done); the audit log
    keeps each."""
    locked = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("account", "task")
        .get(pk=assignment.pk)
    )
    if not perms.may_answer(Access(actor), locked):
        raise PermissionDenied
    post_link, reason = post_link.strip(), reason.strip()
    if done and not post_link:
        raise ValidationError({"post_link": _(ERR_POST_LINK)})
    if not done and not reason:
        raise ValidationError({"reason": _(ERR_DECLINE_REASON)})
    before = locked.state
    locked.state = AssignmentState.DONE if done else AssignmentState.DECLINED
    locked.post_link = post_link if done else ""
    locked.reason = "" if done else reason
    locked.answered_by = actor
    locked.answered_at = timezone.now()
    locked.full_clean()
    locked.save()
    audit_record(
        action=AuditAction.ALLIANCE_TASK,
        actor=actor,
        request=request,
        obj=locked.task,
        detail={
            "step": "answer",
            "account": locked.account_id,
            "from": before,
            "to": locked.state,
        },
    )
    return locked


# --- Notices ----------------------------------------------------------------------------------


@transaction.atomic
def notice_post(
    *,
    actor: User,
    title: str,
    body: str,
    uploads: Sequence[Any] = (),
    request: HttpRequest | None = None,
) -> Notice:
    """Post a notice to every secretary and account administrator with a login; each gets a
    receipt to confirm, a message in the site and an e-mail. Attachments are checked before
    anything is written."""
    _require_secretariat(actor)
    files = [(upload, *_clean_notice_upload(upload)) for upload in uploads]
    readers = list(selectors.notice_recipients().values_list("pk", flat=True).distinct())
    if not readers:
        raise ValidationError({"recipients": _(ERR_NO_RECIPIENTS)})
    notice = Notice(title=title.strip(), body=body.strip(), posted_by=actor)
    notice.full_clean()
    notice.save()
    for upload, data, content_type, suffix in files:
        original = (getattr(upload, "name", "") or f"attachment{suffix}").rsplit("/", 1)[-1]
        attachment = NoticeAttachment(
            notice=notice,
            original_name=original[:200],
            content_type=content_type,
            size=len(data),
        )
        # Written before the row, as for request attachments: a rollback leaves a file no row
        # points to, which is never served.
        attachment.file.save(f"attachment{suffix}", ContentFile(data), save=False)
        attachment.save()
    NoticeReceipt.objects.bulk_create([NoticeReceipt(notice=notice, user_id=pk) for pk in readers])
    audit_record(
        action=AuditAction.NOTICE,
        actor=actor,
        request=request,
        obj=notice,
        detail={"step": "post", "recipients": len(readers), "attachments": len(files)},
    )
    transaction.on_commit(
        lambda: notify(
            recipients(User.objects.filter(pk__in=readers)),
            NotificationVerb.NOTICE,
            _("政策通知：%(title)s") % {"title": notice.title},
            notice.get_absolute_url(),
        )
    )
    return notice


def _clean_notice_upload(upload: Any) -> tuple[bytes, str, str]:
    """``clean_upload``, its refusal on the ``attachments`` field and naming the file (a
    notice may carry several)."""
    try:
        return clean_upload(upload)
    except ValidationError as error:
        name = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1][:100]
        messages = [_(ERR_NOTICE_FILE) % {"message": m, "name": name} for m in error.messages]
        raise ValidationError({"attachments": messages}) from error


@transaction.atomic
def notice_read(*, notice: Notice, actor: User) -> NoticeReceipt:
    """The reader confirms they have read the notice (once; a second confirmation keeps the
    first time)."""
    receipt = NoticeReceipt.objects.select_for_update().filter(notice=notice, user=actor).first()
    if receipt is None:
        raise PermissionDenied(_(ERR_NOT_RECIPIENT))
    if receipt.read_at is None:
        receipt.read_at = timezone.now()
        receipt.save(update_fields=["read_at"])
    return receipt


@transaction.atomic
def notice_remind(*, notice: Notice, actor: User, request: HttpRequest | None = None) -> int:
    """Remind everyone who has not read the notice; returns how many were reminded."""
    _require_secretariat(actor)
    locked = Notice.objects.select_for_update().get(pk=notice.pk)
    now = timezone.now()
    hours = settings.CAMPUSMEDIA_NOTICE_REMIND_HOURS
    if locked.reminded_at is not None and now - locked.reminded_at < datetime.timedelta(
        hours=hours
    ):
        raise AllianceConflict(_(ERR_REMINDED) % {"hours": hours})
    unread = list(
        NoticeReceipt.objects.filter(notice=locked, read_at__isnull=True).values_list(
            "pk", "user_id"
        )
    )
    if not unread:
        raise ValidationError(_(ERR_NOTHING_UNREAD))
    _mark_reminded([pk for pk, _user in unread], now)
    locked.reminded_at = now
    locked.save(update_fields=["reminded_at"])
    audit_record(
        action=AuditAction.NOTICE,
        actor=actor,
        request=request,
        obj=locked,
        detail={"step": "remind", "unread": len(unread)},
    )
    users = [user_id for _pk, user_id in unread]
    transaction.on_commit(
        lambda: notify(
            recipients(User.objects.filter(pk__in=users, is_active=True)),
            NotificationVerb.NOTICE,
            _("请阅读政策通知：%(title)s") % {"title": locked.title},
            locked.get_absolute_url(),
        )
    )
    return len(unread)


def _mark_reminded(receipt_ids: list[int], when: datetime.datetime) -> None:
    NoticeReceipt.objects.filter(pk__in=receipt_ids).update(
        reminded_at=when, reminders=F("reminders") + 1
    )


# --- Pre-publication requests -----------------------------------------------------------------


def _check_prepub(prepub: Prepublication) -> None:
    errors: dict[str, str] = {}
    if not prepub.content.strip() and not prepub.draft_link.strip():
        errors["content"] = _(ERR_PREPUB_CONTENT)
    if prepub.planned_at is not None and prepub.planned_at < timezone.now():
        errors["planned_at"] = _(ERR_PREPUB_PLANNED)
    if errors:
        raise ValidationError(errors)


def _prepub_step_row(
    prepub: Prepublication,
    actor: User,
    action: str,
    source: str,
    comment: str,
    request: HttpRequest | None,
) -> None:
    PrepubStep.objects.create(
        prepublication=prepub,
        actor=actor,
        actor_name=actor_name(actor),
        action=action,
        source_state=source,
        target_state=prepub.state,
        comment=comment,
        ip=client_ip(request) if request is not None else None,
    )
    audit_record(
        action=AuditAction.PREPUBLICATION,
        actor=actor,
        request=request,
        obj=prepub,
        detail={"step": action, "from": source, "to": prepub.state, "comment": comment[:200]},
    )


PREPUB_FIELDS = ("topic", "title", "content", "draft_link", "planned_at")


@transaction.atomic
def prepub_submit(
    *,
    account: MediaAccount,
    actor: User,
    topic: str,
    title: str,
    planned_at: datetime.datetime,
    content: str = "",
    draft_link: str = "",
    request: HttpRequest | None = None,
) -> Prepublication:
    """A unit asks the department to approve a post before it is published."""
    if not perms.may_answer_for(Access(actor), account):
        raise PermissionDenied
    if account.status != AccountStatus.ACTIVE:
        raise ValidationError({"account": _(ERR_NOT_ACTIVE) % {"what": _("申请发布")}})
    prepub = Prepublication(
        account=account,
        owner_unit_id=account.owner_unit_id,
        topic=topic,
        title=title.strip(),
        content=content.strip(),
        draft_link=draft_link.strip(),
        planned_at=planned_at,
        submitted_by=actor,
    )
    _check_prepub(prepub)
    prepub.full_clean()
    prepub.save()
    _prepub_step_row(prepub, actor, PrepubAction.SUBMIT, "", "", request)
    transaction.on_commit(lambda: _tell_deciders(prepub, actor))
    return prepub


@transaction.atomic
def prepub_edit(
    *,
    prepub: Prepublication,
    actor: User,
    request: HttpRequest | None = None,
    **fields: Any,
) -> Prepublication:
    """Change the text, link or time before the decision or after a return."""
    locked = _lock_prepub(prepub)
    if not perms.may_prepub("edit", locked, Access(actor)):
        raise PermissionDenied
    unknown = set(fields) - set(PREPUB_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(locked, name, value.strip() if isinstance(value, str) else value)
    _check_prepub(locked)
    locked.full_clean()
    locked.save(update_fields=[*fields, "updated_at"])
    audit_record(
        action=AuditAction.PREPUBLICATION,
        actor=actor,
        request=request,
        obj=locked,
        detail={"step": "edit", "fields": sorted(fields)},
    )
    return locked


def _lock_prepub(prepub: Prepublication) -> Prepublication:
    return (
        Prepublication.objects.select_for_update(of=("self",))
        .select_related("account")
        .get(pk=prepub.pk)
    )


_STEP_ACTIONS = {
    "resubmit": PrepubAction.RESUBMIT,
    "approve": PrepubAction.APPROVE,
    "return_for_changes": PrepubAction.RETURN,
    "withdraw": PrepubAction.WITHDRAW,
    "file_published": PrepubAction.FILE,
}


def _run_prepub_step(
    prepub: Prepublication,
    *,
    name: str,
    actor: User,
    comment: str = "",
    request: HttpRequest | None = None,
    effects: Any = None,
    fields: tuple[str, ...] = (),
) -> Prepublication:
    locked = _lock_prepub(prepub)
    step = getattr(locked, name)
    action = _STEP_ACTIONS[name]
    if not can_proceed(step):
        template = ERR_PREPUB_CONFLICT if locked.state != prepub.state else ERR_PREPUB_NOT_ALLOWED
        raise AllianceConflict(
            _(template) % {"state": locked.get_state_display(), "step": action.label}
        )
    if not has_transition_perm(step, actor):
        raise PermissionDenied
    source = locked.state
    if effects is not None:
        effects(locked)
    step()
    try:
        locked.save(update_fields=["state", *fields, "updated_at"])
    except ConcurrentTransition as error:
        raise AllianceConflict(_(ERR_PREPUB_CONFLICT) % {"state": ""}) from error
    _prepub_step_row(locked, actor, action, source, comment, request)
    transaction.on_commit(lambda: _tell_after_step(locked, actor))
    return locked


@transaction.atomic
def prepub_resubmit(
    *, prepub: Prepublication, actor: User, request: HttpRequest | None = None
) -> Prepublication:
    def effects(locked: Prepublication) -> None:
        _check_prepub(locked)
        locked.submitted_at = timezone.now()
        locked.decided_by = None
        locked.decided_at = None

    return _run_prepub_step(
        prepub,
        name="resubmit",
        actor=actor,
        request=request,
        effects=effects,
        fields=("submitted_at", "decided_by", "decided_at"),
    )


@transaction.atomic
def prepub_decide(
    *,
    prepub: Prepublication,
    actor: User,
    approve: bool,
    comment: str = "",
    request: HttpRequest | None = None,
) -> Prepublication:
    """The department approves the post, or returns it with the reason."""
    comment = comment.strip()
    if not approve and not comment:
        raise ValidationError({"comment": _(ERR_PREPUB_COMMENT)})

    def effects(locked: Prepublication) -> None:
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.decision_comment = comment

    return _run_prepub_step(
        prepub,
        name="approve" if approve else "return_for_changes",
        actor=actor,
        comment=comment,
        request=request,
        effects=effects,
        fields=("decided_by", "decided_at", "decision_comment"),
    )


@transaction.atomic
def prepub_withdraw(
    *, prepub: Prepublication, actor: User, comment: str = "", request: HttpRequest | None = None
) -> Prepublication:
    return _run_prepub_step(
        prepub, name="withdraw", actor=actor, comment=comment.strip(), request=request
    )


@transaction.atomic
def prepub_file(
    *,
    prepub: Prepublication,
    actor: User,
    published_link: str,
    published_at: datetime.datetime | None = None,
    request: HttpRequest | None = None,
) -> Prepublication:
    """After publication, the unit files the link of what was published."""
    published_link = published_link.strip()
    if not published_link:
        raise ValidationError({"published_link": _(ERR_PUBLISHED_LINK)})
    now = timezone.now()
    if published_at is not None and published_at > now:
        raise ValidationError({"published_at": _(ERR_PUBLISHED_AT)})

    def effects(locked: Prepublication) -> None:
        locked.published_link = published_link
        locked.published_at = published_at or now
        locked.filed_by = actor
        locked.filed_at = now
        locked.full_clean()

    return _run_prepub_step(
        prepub,
        name="file_published",
        actor=actor,
        request=request,
        effects=effects,
        fields=("published_link", "published_at", "filed_by", "filed_at"),
    )


def _tell_deciders(prepub: Prepublication, actor: User) -> None:
    notify(
        _secretariat(exclude=actor.pk),
        NotificationVerb.PREPUBLICATION,
        _("发布前审批待处理：%(title)s（%(account)s）")
        % {"title": prepub.title, "account": prepub.account.name},
        prepub.get_absolute_url(),
    )


def _tell_after_step(prepub: Prepublication, actor: User) -> None:
    if prepub.state == P.SUBMITTED:
        _tell_deciders(prepub, actor)
        return
    if prepub.state not in (P.APPROVED, P.RETURNED):
        return
    text = _("发布前审批%(state)s：%(title)s") % {
        "state": prepub.get_state_display(),
        "title": prepub.title,
    }
    notify(
        recipients(User.objects.filter(pk=prepub.submitted_by_id, is_active=True)),
        NotificationVerb.PREPUBLICATION,
        text,
        prepub.get_absolute_url(),
    )


def next_charter_number() -> int:
    return (CharterVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1


__all__ = [
    "AllianceConflict",
    "answerers",
    "assignment_answer",
    "charter_publish",
    "member_role_set",
    "membership_apply",
    "membership_decide",
    "membership_leave",
    "next_charter_number",
    "notice_post",
    "notice_read",
    "notice_remind",
    "prepub_decide",
    "prepub_edit",
    "prepub_file",
    "prepub_resubmit",
    "prepub_submit",
    "prepub_withdraw",
    "task_post",
]
