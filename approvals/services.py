"""Every way a request can change, and what its final step does to the registry.

Each step runs in one transaction: the request row is locked (``select_for_update``), the step is
checked again against the locked state and the actor's right (django-fsm-2 and
``approvals.permissions``), the step and its effects are saved, one timeline row and one audit row
are written; notifications go out after commit. Two reviewers at the same moment: the second finds
the state moved on and gets ``RequestConflict``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from approvals import notifications
from approvals.attachments import attachment_add
from approvals.choices import (
    EDITABLE_STATES,
    AttachmentKind,
    Decision,
    RequestKind,
    RequestState,
    StepAction,
    TeamChangeSource,
)
from approvals.models import (
    AccountRequest,
    ApprovalCounter,
    ProposedMember,
    RequestStep,
    TeamChangeEvent,
)
from approvals.permissions import may
from campusmedia import services as registry
from campusmedia.auditlog import audit_record
from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.models import MediaAccount, Person, Platform, TeamMember, Unit, User
from campusmedia.models.audit import AuditAction
from campusmedia.net import client_ip
from campusmedia.permissions import Access, Action

S = RequestState

ERR_CONFLICT = "该申请已被他人处理（当前状态：%(state)s），请刷新页面后再操作。"
ERR_NOT_ALLOWED = "当前状态（%(state)s）下不能执行“%(step)s”。"
ERR_COMMENT_REQUIRED = "意见：退回或不予通过时请写明原因。"
ERR_KIND_NEEDS_ACCOUNT = "账号：变更和停办申请必须选择一个已登记的账号。"
ERR_ACCOUNT_CLOSED = "账号：该账号已停办，不能再提交申请。"
ERR_ACCOUNT_WRONG_UNIT = "账号：该账号不属于所选主办单位。"
ERR_REQUEST_PENDING = "账号：该账号已有一份未办结的申请（%(kind)s），请先办结或撤回。"
ERR_TEAM_SUPERVISOR = "管理队伍：请填写一位主要负责人（分管领导）。"
ERR_TEAM_ADMIN = "管理队伍：请至少填写一位管理员。"
ERR_TEAM_UNKNOWN_PERSON = "管理队伍：所选人员不属于本单位或该账号的管理队伍。"
ERR_CLOSE_REASON = "申请说明：停办申请请写明停办原因。"
ERR_NOT_AWAITING_OPENING = "账号：只有“已批准未开通”的账号才能报送开通。"
ERR_OPENING_ID = "账号ID：请填写平台上的账号ID。"
ERR_OPENING_DATE = "开通日期：请填写开通日期，且不能晚于今天。"
ERR_OPENING_PLEDGE = "承诺书：请上传签字盖章的网络信息安全承诺书。"

# The account fields a request proposes (DOMAIN.md section 3), in the order of the form.
ACCOUNT_FIELDS = (
    "name",
    "platform",
    "account_type",
    "account_id",
    "content_categories",
    "content_forms",
    "function_description",
    "planned_opening_on",
    "opened_on",
    "verification",
    "verification_note",
    "follower_count",
    "operator_count",
    "url",
)
# Team fields a request carries per member (ProposedMember).
MEMBER_FIELDS = (
    "role",
    "person",
    "name",
    "title",
    "office_phone",
    "mobile",
    "email",
    "wechat_id",
    "is_student",
    "expected_end",
)

STEP_LABELS = {
    "submit": StepAction.SUBMIT,
    "endorse": StepAction.ENDORSE,
    "return_for_changes": StepAction.RETURN,
    "reject": StepAction.REJECT,
    "withdraw": StepAction.WITHDRAW,
}


class RequestConflict(Exception):
    """The request is no longer in the state the step needs (someone else acted first)."""


# --- Proposed data: JSON that survives the round trip, and the account it describes ----------


def data_to_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """Account field values (as a form cleans them) → the JSON kept in ``AccountRequest.data``."""
    out: dict[str, Any] = {}
    for name in ACCOUNT_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, Platform):
            value = value.code
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        out[name] = value
    return out


def data_to_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of ``AccountRequest.data`` → model field values."""
    fields: dict[str, Any] = {}
    for name in ACCOUNT_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name == "platform":
            value = Platform.objects.get(code=value)
        elif name in ("planned_opening_on", "opened_on"):
            value = datetime.date.fromisoformat(value) if value else None
        fields[name] = value
    return fields


def account_data(account: MediaAccount) -> dict[str, Any]:
    """An account's current values, as a change request's starting point."""
    return data_to_json({name: getattr(account, name) for name in ACCOUNT_FIELDS})


def team_of(account: MediaAccount) -> list[dict[str, Any]]:
    """An account's current team as member rows (a change request's starting point)."""
    rows = []
    for member in account.team.current().select_related("person").order_by("role", "id"):
        p = member.person
        rows.append(
            {
                "role": member.role,
                "person": p,
                "name": p.name,
                "title": p.title,
                "office_phone": p.office_phone,
                "mobile": p.mobile,
                "email": p.email,
                "wechat_id": p.wechat_id,
                "is_student": p.is_student,
                "expected_end": p.expected_end,
            }
        )
    return rows


def _check_account(kind: str, owner_unit: Unit, account: MediaAccount | None, data: dict) -> None:
    """Validate the proposed account as the registry would store it; Chinese errors by field."""
    errors: dict[str, Any] = {}
    if kind in (RequestKind.CHANGE, RequestKind.CLOSE):
        if account is None:
            raise ValidationError({"account": _(ERR_KIND_NEEDS_ACCOUNT)})
        if account.owner_unit_id != owner_unit.pk:
            raise ValidationError({"account": _(ERR_ACCOUNT_WRONG_UNIT)})
        if account.status == AccountStatus.CLOSED:
            raise ValidationError({"account": _(ERR_ACCOUNT_CLOSED)})
    if kind == RequestKind.CLOSE:
        return
    candidate = MediaAccount(owner_unit=owner_unit, **data_to_fields(data))
    if account is not None:
        candidate.pk = account.pk
        candidate._state.adding = False  # unique checks leave the account itself out
        candidate.status = account.status
    else:
        candidate.status = (
            AccountStatus.ACTIVE if kind == RequestKind.RECORD else AccountStatus.APPROVED
        )
    try:
        candidate.full_clean(exclude=["approval_number"])
    except ValidationError as error:
        errors.update(error.message_dict)
    if kind == RequestKind.RECORD:
        if not data.get("account_id"):
            errors.setdefault("account_id", []).append(_(ERR_OPENING_ID))
        if not data.get("opened_on"):
            errors.setdefault("opened_on", []).append(_(ERR_OPENING_DATE))
    if errors:
        raise ValidationError(errors)


def _check_team(kind: str, team: list[dict[str, Any]]) -> None:
    if kind == RequestKind.CLOSE:
        return
    roles = [row.get("role") for row in team]
    if roles.count(TeamRole.SUPERVISOR) != 1:
        raise ValidationError({"team": _(ERR_TEAM_SUPERVISOR)})
    if TeamRole.ADMINISTRATOR not in roles:
        raise ValidationError({"team": _(ERR_TEAM_ADMIN)})


def _known_person(account_request: AccountRequest, value: Any) -> Person | None:
    """The existing person a team row names (an id from the form or a Person), checked: only
    people on the account's current team or of the owning unit can be named, never anyone by id."""
    if value in (None, ""):
        return None
    person_id = value.pk if isinstance(value, Person) else value
    allowed = Person.objects.filter(pk=person_id).filter(
        Q(unit_id=account_request.owner_unit_id)
        | Q(
            team_memberships__account_id=account_request.account_id or 0,
            team_memberships__ends_on__isnull=True,
        )
    )
    person = allowed.first()
    if person is None:
        raise ValidationError({"team": _(ERR_TEAM_UNKNOWN_PERSON)})
    return person


def _save_team(account_request: AccountRequest, team: Iterable[Mapping[str, Any]]) -> None:
    account_request.team.all().delete()
    members = []
    for position, row in enumerate(team):
        values = {name: row.get(name) for name in MEMBER_FIELDS if row.get(name) is not None}
        person = _known_person(account_request, values.pop("person", None))
        # A renamed row is somebody else: the new name is a new person, not the old one.
        if person is not None and values.get("name") and values["name"] != person.name:
            person = None
        member = ProposedMember(request=account_request, position=position, person=person, **values)
        member.full_clean(exclude=["request"])
        members.append(member)
    ProposedMember.objects.bulk_create(members)


def _pending(account: MediaAccount | None, exclude_pk: int | None = None) -> AccountRequest | None:
    if account is None:
        return None
    return (
        AccountRequest.objects.open()
        .filter(account=account)
        .exclude(pk=exclude_pk)
        .order_by("created_at")
        .first()
    )


# --- Drafts -----------------------------------------------------------------------------------


@transaction.atomic
def request_create(
    *,
    kind: str,
    owner_unit: Unit,
    actor: User,
    account: MediaAccount | None = None,
    data: Mapping[str, Any] | None = None,
    team: list[dict[str, Any]] | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> AccountRequest:
    """A draft request. The actor must keep the owning unit's accounts."""
    access = Access(actor)
    draft = AccountRequest(kind=kind, owner_unit=owner_unit, account=account, created_by=actor)
    if not may("edit", draft, access):
        raise PermissionDenied
    pending = _pending(account)
    if pending is not None:
        raise ValidationError(
            {"account": _(ERR_REQUEST_PENDING) % {"kind": pending.get_kind_display()}}
        )
    json = data_to_json(data or {}) if kind != RequestKind.CLOSE else {}
    if kind == RequestKind.CLOSE and account is not None:
        json = {"name": account.name}
    _check_account(kind, owner_unit, account, json)
    team = team or []
    _check_team(kind, team)
    if kind == RequestKind.CLOSE and not reason.strip():
        raise ValidationError({"reason": _(ERR_CLOSE_REASON)})
    draft.data = json
    draft.reason = reason.strip()
    draft.full_clean()
    draft.save()
    _save_team(draft, team)
    _timeline(draft, actor, StepAction.CREATE, S.DRAFT, S.DRAFT, "", request)
    return draft


@transaction.atomic
def request_update(
    *,
    account_request: AccountRequest,
    actor: User,
    data: Mapping[str, Any] | None = None,
    team: list[dict[str, Any]] | None = None,
    reason: str | None = None,
    request: HttpRequest | None = None,
) -> AccountRequest:
    """Change a draft or a returned request (only its keepers may)."""
    locked = _lock(account_request)
    if locked.state not in EDITABLE_STATES:
        raise RequestConflict(_(ERR_CONFLICT) % {"state": locked.get_state_display()})
    if not may("edit", locked, Access(actor)):
        raise PermissionDenied
    if data is not None and locked.kind != RequestKind.CLOSE:
        locked.data = data_to_json(data)
    if reason is not None:
        locked.reason = reason.strip()
    if locked.kind == RequestKind.CLOSE and not locked.reason:
        raise ValidationError({"reason": _(ERR_CLOSE_REASON)})
    _check_account(locked.kind, locked.owner_unit, locked.account, locked.data)
    if team is not None:
        _check_team(locked.kind, team)
        _save_team(locked, team)
    locked.save()
    return locked


# --- Steps ------------------------------------------------------------------------------------


def _lock(account_request: AccountRequest) -> AccountRequest:
    return (
        AccountRequest.objects.select_for_update(of=("self",))
        .select_related("owner_unit", "account")
        .get(pk=account_request.pk)
    )


def _timeline(
    account_request: AccountRequest,
    actor: User,
    action: str,
    source: str,
    target: str,
    comment: str,
    request: HttpRequest | None,
) -> RequestStep:
    step = RequestStep.objects.create(
        request=account_request,
        actor=actor,
        actor_name=actor_name(actor),
        action=action,
        source_state=source,
        target_state=target,
        comment=comment,
        ip=client_ip(request) if request is not None else None,
    )
    audit_record(
        action=AuditAction.REQUEST_STEP,
        actor=actor,
        request=request,
        obj=account_request,
        detail={"step": action, "from": source, "to": target, "comment": comment[:200]},
    )
    return step


def actor_name(actor: User) -> str:
    """How a timeline names who acted: the person's name and the login."""
    person = getattr(actor, "person", None)
    name = person.name if person is not None else actor.get_full_name()
    return f"{name}（{actor.get_username()}）" if name else actor.get_username()


def _run_step(
    account_request: AccountRequest,
    *,
    name: str,
    actor: User,
    comment: str = "",
    request: HttpRequest | None = None,
    action: str | None = None,
    effects: Any = None,
    fields: tuple[str, ...] = (),
) -> AccountRequest:
    """Lock, check state and right, change state, apply ``effects(locked)``, record, save.

    Only the state, ``fields`` (what the effects set) and the update time are written."""
    locked = _lock(account_request)
    step = getattr(locked, name)
    if not can_proceed(step):
        if locked.state != account_request.state:
            raise RequestConflict(_(ERR_CONFLICT) % {"state": locked.get_state_display()})
        label = STEP_LABELS.get(name, StepAction.APPROVE).label
        raise RequestConflict(
            _(ERR_NOT_ALLOWED) % {"state": locked.get_state_display(), "step": label}
        )
    if not has_transition_perm(step, actor):
        raise PermissionDenied
    source = locked.state
    step()
    if effects is not None:
        effects(locked)
    try:
        locked.save(update_fields=["state", *fields, "updated_at"])
    except ConcurrentTransition as error:  # the row moved on without a lock (SQLite)
        raise RequestConflict(_(ERR_CONFLICT) % {"state": ""}) from error
    _timeline(locked, actor, action or STEP_LABELS[name], source, locked.state, comment, request)
    transaction.on_commit(lambda: notifications.after_step(locked, name))
    return locked


@transaction.atomic
def request_submit(
    *, account_request: AccountRequest, actor: User, request: HttpRequest | None = None
) -> AccountRequest:
    def effects(locked: AccountRequest) -> None:
        _check_account(locked.kind, locked.owner_unit, locked.account, locked.data)
        _check_team(locked.kind, [{"role": m.role} for m in locked.team.all()])
        pending = _pending(locked.account, exclude_pk=locked.pk)
        if pending is not None:
            raise ValidationError(
                {"account": _(ERR_REQUEST_PENDING) % {"kind": pending.get_kind_display()}}
            )
        now = timezone.now()
        locked.submitted_by = actor
        locked.submitted_at = now
        locked.endorsed_by = None
        if locked.account is not None:
            locked.before = account_data(locked.account)
        _file_team_changes(locked, now)

    return _run_step(
        account_request,
        name="submit",
        actor=actor,
        request=request,
        effects=effects,
        fields=("submitted_by", "submitted_at", "endorsed_by", "before", "is_late"),
    )


@transaction.atomic
def request_endorse(
    *,
    account_request: AccountRequest,
    actor: User,
    comment: str = "",
    request: HttpRequest | None = None,
) -> AccountRequest:
    def effects(locked: AccountRequest) -> None:
        locked.endorsed_by = actor

    return _run_step(
        account_request,
        name="endorse",
        actor=actor,
        comment=comment.strip(),
        request=request,
        effects=effects,
        fields=("endorsed_by",),
    )


def _required(comment: str) -> str:
    if not comment.strip():
        raise ValidationError({"comment": _(ERR_COMMENT_REQUIRED)})
    return comment.strip()


@transaction.atomic
def request_return(
    *,
    account_request: AccountRequest,
    actor: User,
    comment: str,
    request: HttpRequest | None = None,
) -> AccountRequest:
    """Back to the filer for changes; the team changes it filed stay filed by it."""
    return _run_step(
        account_request,
        name="return_for_changes",
        actor=actor,
        comment=_required(comment),
        request=request,
    )


@transaction.atomic
def request_reject(
    *,
    account_request: AccountRequest,
    actor: User,
    comment: str,
    request: HttpRequest | None = None,
) -> AccountRequest:
    return _run_step(
        account_request,
        name="reject",
        actor=actor,
        comment=_required(comment),
        request=request,
        effects=_reopen_team_changes,
    )


@transaction.atomic
def request_withdraw(
    *,
    account_request: AccountRequest,
    actor: User,
    comment: str = "",
    request: HttpRequest | None = None,
) -> AccountRequest:
    return _run_step(
        account_request,
        name="withdraw",
        actor=actor,
        comment=comment.strip(),
        request=request,
        effects=_reopen_team_changes,
    )


def _reopen_team_changes(locked: AccountRequest) -> None:
    """A change request that will not be approved no longer files its team changes."""
    TeamChangeEvent.objects.filter(filed_by_request=locked).update(
        filed_by_request=None, filed_at=None
    )


@transaction.atomic
def request_approve(
    *,
    account_request: AccountRequest,
    actor: User,
    comment: str = "",
    request: HttpRequest | None = None,
) -> AccountRequest:
    """The final step: approve (审批) or record (审核备案) by the tier's route, take the next
    approval number and change the registry, all in one transaction."""

    def effects(locked: AccountRequest) -> None:
        now = timezone.now()
        locked.decided_by = actor
        locked.decided_at = now
        year = timezone.localdate(now).year
        sequence = _next_number(year)
        locked.approval_year, locked.approval_sequence = year, sequence
        locked.approval_number = format_number(year, sequence)
        _apply(locked, actor, request)

    decision = account_request.route.decision
    return _run_step(
        account_request,
        name="approve",
        actor=actor,
        comment=comment.strip(),
        request=request,
        action=StepAction.RECORD if decision == Decision.RECORD else StepAction.APPROVE,
        effects=effects,
        fields=(
            "decided_by",
            "decided_at",
            "approval_year",
            "approval_sequence",
            "approval_number",
            "account",
        ),
    )


def format_number(year: int, sequence: int) -> str:
    return f"{settings.CAMPUSMEDIA_APPROVAL_PREFIX}-{year}-{sequence:04d}"


def _next_number(year: int) -> int:
    """The year's next number, under the counter row's lock: no gaps, no duplicates; a rolled
    back approval gives its number back with the rest of the transaction."""
    try:
        with transaction.atomic():
            ApprovalCounter.objects.get_or_create(year=year)
    except IntegrityError:  # created at the same moment by another approval
        pass
    counter = ApprovalCounter.objects.select_for_update().get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


@transaction.atomic
def approval_counters_sync() -> dict[int, int]:
    """Raise each year's counter past every number already in use (on accounts loaded from the
    paper era, the demo or an import), so a new approval never repeats one. Returns
    {year: last}."""
    pattern = re.compile(rf"^{re.escape(settings.CAMPUSMEDIA_APPROVAL_PREFIX)}-(\d{{4}})-(\d+)$")
    highest: dict[int, int] = {}
    numbers = MediaAccount.objects.exclude(approval_number="").values_list(
        "approval_number", flat=True
    )
    for number in numbers.iterator():
        match = pattern.match(number)
        if match:
            year, sequence = int(match.group(1)), int(match.group(2))
            highest[year] = max(highest.get(year, 0), sequence)
    for year, sequence in highest.items():
        counter, _created = ApprovalCounter.objects.select_for_update().get_or_create(year=year)
        if counter.last < sequence:
            counter.last = sequence
            counter.save(update_fields=["last"])
    return {c.year: c.last for c in ApprovalCounter.objects.all()}


def _apply(locked: AccountRequest, actor: User, request: HttpRequest | None) -> None:
    """What the final step does to the registry (DOMAIN.md section 4)."""
    source = locked.approval_number
    fields = data_to_fields(locked.data)
    if locked.kind in (RequestKind.OPEN, RequestKind.RECORD):
        status = (
            AccountStatus.ACTIVE if locked.kind == RequestKind.RECORD else AccountStatus.APPROVED
        )
        account = registry.account_create(
            actor=actor,
            source=source,
            request=request,
            owner_unit=locked.owner_unit,
            status=status,
            approval_number=source,
            **fields,
        )
        locked.account = account
        _apply_team(locked, account, actor, source, request)
    elif locked.kind == RequestKind.CHANGE:
        assert locked.account is not None
        registry.account_update(
            account=locked.account, actor=actor, source=source, request=request, **fields
        )
        _apply_team(locked, locked.account, actor, source, request)
    elif locked.kind == RequestKind.CLOSE:
        assert locked.account is not None
        registry.account_update(
            account=locked.account,
            actor=actor,
            source=source,
            request=request,
            note=locked.reason,
            status=AccountStatus.CLOSED,
            closed_on=timezone.localdate(),
        )
        for member in locked.account.team.current():
            registry.team_member_end(member=member, actor=actor, source=source, request=request)


def _apply_team(
    locked: AccountRequest,
    account: MediaAccount,
    actor: User,
    source: str,
    request: HttpRequest | None,
) -> None:
    """Make the account's current team the proposed one: end who left, add who joined."""
    proposed = list(locked.team.select_related("person"))
    wanted: set[tuple[int, str]] = set()
    people: list[tuple[Person, str]] = []
    for member in proposed:
        person = member.person or registry.person_create(
            actor=actor,
            request=request,
            unit=locked.owner_unit,
            name=member.name,
            **{name: getattr(member, name) for name in _CONTACT_FIELDS},
        )
        if member.person is None:
            member.person = person
            member.save(update_fields=["person"])
        else:
            _update_contacts(member, actor, request)
        wanted.add((person.pk, member.role))
        people.append((person, member.role))
    current = list(account.team.current())
    for existing in current:
        if (existing.person_id, existing.role) not in wanted:
            registry.team_member_end(member=existing, actor=actor, source=source, request=request)
    have = {(m.person_id, m.role) for m in current}
    for person, role in people:
        if (person.pk, role) not in have:
            registry.team_member_add(
                account=account,
                person=person,
                role=role,
                actor=actor,
                source=source,
                request=request,
            )


_CONTACT_FIELDS = (
    "title",
    "office_phone",
    "mobile",
    "email",
    "wechat_id",
    "is_student",
    "expected_end",
)


def _update_contacts(member: ProposedMember, actor: User, request: HttpRequest | None) -> None:
    """An approved request's contact data of an existing person replaces what the registry had."""
    person = member.person
    assert person is not None
    changed = {
        name: getattr(member, name)
        for name in _CONTACT_FIELDS
        if getattr(member, name) not in (None, "")
        and getattr(member, name) != getattr(person, name)
    }
    if changed:
        registry.person_update(person=person, actor=actor, request=request, **changed)


# --- Reporting the opening of an approved account ----------------------------------------------


@transaction.atomic
def account_report_opening(
    *,
    account: MediaAccount,
    actor: User,
    account_id: str,
    opened_on: datetime.date | None,
    pledge: Any,
    request: HttpRequest | None = None,
) -> MediaAccount:
    """The unit reports the real account id and opening date with the signed pledge; the account
    becomes active (DOMAIN.md section 4, open)."""
    locked = MediaAccount.objects.select_for_update().get(pk=account.pk)
    if not Access(actor).can(Action.MANAGE, locked.owner_unit_id):
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    if locked.status != AccountStatus.APPROVED:
        raise ValidationError({"account": _(ERR_NOT_AWAITING_OPENING)})
    if not account_id.strip():
        errors["account_id"] = [_(ERR_OPENING_ID)]
    if opened_on is None or opened_on > timezone.localdate():
        errors["opened_on"] = [_(ERR_OPENING_DATE)]
    if pledge is None:
        errors["pledge"] = [_(ERR_OPENING_PLEDGE)]
    if errors:
        raise ValidationError(errors)
    attachment_add(
        account=locked, kind=AttachmentKind.PLEDGE, upload=pledge, actor=actor, request=request
    )
    registry.account_update(
        account=locked,
        actor=actor,
        source=locked.approval_number or _("报送开通"),
        request=request,
        account_id=account_id.strip(),
        opened_on=opened_on,
        status=AccountStatus.ACTIVE,
    )
    locked.refresh_from_db()
    return locked


# --- The 3-day rule ---------------------------------------------------------------------------


def team_change_due(happened_on: datetime.date) -> datetime.date:
    return happened_on + datetime.timedelta(days=settings.CAMPUSMEDIA_TEAM_CHANGE_DAYS)


@transaction.atomic
def team_change_record(
    *,
    member: TeamMember,
    actor: User | None,
    happened_on: datetime.date,
    source: str = TeamChangeSource.RECORDED,
    note: str = "",
    request: HttpRequest | None = None,
) -> TeamChangeEvent:
    """ "X stops being on this account's team on D": due ``CAMPUSMEDIA_TEAM_CHANGE_DAYS`` later.

    Recording twice for the same member and day gives back the first record.
    """
    existing = TeamChangeEvent.objects.filter(
        account_id=member.account_id,
        person_id=member.person_id,
        role=member.role,
        happened_on=happened_on,
    ).first()
    if existing is not None:
        return existing
    event = TeamChangeEvent.objects.create(
        account_id=member.account_id,
        person_id=member.person_id,
        role=member.role,
        happened_on=happened_on,
        due_on=team_change_due(happened_on),
        source=source,
        note=note,
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_record(
        action=AuditAction.TEAM_CHANGE_RECORDED,
        actor=actor,
        request=request,
        obj=member.account,
        detail={"person": member.person_id, "role": member.role, "on": happened_on.isoformat()},
    )
    transaction.on_commit(lambda: notifications.team_change_recorded(event))
    return event


def _file_team_changes(locked: AccountRequest, now: datetime.datetime) -> None:
    """A submitted change request files the account's open team changes; filed after the due
    date, the request is marked late."""
    if locked.kind != RequestKind.CHANGE or locked.account is None:
        return
    events = list(TeamChangeEvent.objects.open().filter(account=locked.account))
    if not events:
        return
    today = timezone.localdate(now)
    locked.is_late = any(today > event.due_on for event in events)
    TeamChangeEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        filed_by_request=locked, filed_at=now
    )
