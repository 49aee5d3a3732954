"""Who hears about a step, in the site and by e-mail (Django's mail framework).

Each message is a Notification row and, where the user has an e-mail address, a mail rendered
from ``templates/emails/<name>_subject.txt``, ``_body.txt`` and ``_body.html``. Called after the
step's transaction commits, so a rolled-back step tells nobody.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from approvals.choices import NotificationVerb, RequestState
from approvals.models import AccountRequest, Notification, TeamChangeEvent
from campusmedia.choices import Role
from campusmedia.models import RoleAssignment, UnitGroupObjectPermission, User

S = RequestState


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to: only what sending needs, not a whole user row."""

    pk: int
    username: str
    email: str

    def get_username(self) -> str:
        return self.username


def recipients(users: QuerySet[User]) -> list[Recipient]:
    """The users as message recipients (one query)."""
    return [Recipient(*row) for row in users.values_list("pk", "username", "email").distinct()]


def signers_for(account_request: AccountRequest) -> list[Recipient]:
    """The users the request now waits for."""
    route = account_request.route
    if account_request.state == S.SUBMITTED and route.first_signoff:
        groups = UnitGroupObjectPermission.objects.filter(
            content_object_id=account_request.owner_unit_id, permission__codename="sign_unit"
        ).values("group_id")
        holders = RoleAssignment.objects.active().filter(group_id__in=groups)
    else:
        holders = RoleAssignment.objects.active().filter(role__in=route.final_roles)
    users = User.objects.filter(is_active=True, person__role_assignments__in=holders).exclude(
        pk__in=[account_request.submitted_by_id or 0, account_request.endorsed_by_id or 0]
    )
    return recipients(users)


def keepers_of(unit_id: int) -> list[Recipient]:
    """The secretaries and heads of a unit (the 3-day rule's audience)."""
    holders = RoleAssignment.objects.active().filter(
        unit_id=unit_id, role__in=[Role.SECRETARY, Role.HEAD]
    )
    return recipients(User.objects.filter(is_active=True, person__role_assignments__in=holders))


def after_step(account_request: AccountRequest, step: str) -> None:
    state = account_request.state
    if state in (S.SUBMITTED, S.ENDORSED):
        _send(signers_for(account_request), NotificationVerb.TO_SIGN, account_request)
    elif state in (S.RETURNED, S.REJECTED, S.APPROVED):
        verb = {
            S.RETURNED: NotificationVerb.RETURNED,
            S.REJECTED: NotificationVerb.REJECTED,
            S.APPROVED: NotificationVerb.APPROVED,
        }[state]
        filer_id = account_request.submitted_by_id or account_request.created_by_id
        _send(recipients(User.objects.filter(pk=filer_id, is_active=True)), verb, account_request)


def team_change_recorded(event: TeamChangeEvent) -> None:
    account = event.account
    _send(
        keepers_of(account.owner_unit_id),
        NotificationVerb.TEAM_CHANGE_DUE,
        None,
        extra={"event": event, "account": account},
    )


def notify(users: Iterable[Recipient], verb: str, text: str, url: str) -> None:
    """A message about something other than a request (a review form, a close order)."""
    _send(users, verb, None, extra={"text": text, "url": url})


def _text(verb: str, account_request: AccountRequest | None, extra: dict[str, Any]) -> str:
    if "text" in extra:
        return str(extra["text"])
    if account_request is not None:
        return _("%(verb)s：%(request)s") % {
            "verb": NotificationVerb(verb).label,
            "request": account_request,
        }
    event = extra["event"]
    return _("%(account)s 的管理队伍变更须在 %(due)s 前报备") % {
        "account": event.account.name,
        "due": event.due_on.isoformat(),
    }


def _send(
    users: Iterable[Recipient],
    verb: str,
    account_request: AccountRequest | None,
    extra: dict[str, Any] | None = None,
) -> None:
    extra = extra or {}
    users = [u for u in users if u is not None]
    if not users:
        return
    text = _text(verb, account_request, extra)
    url = account_request.get_absolute_url() if account_request is not None else ""
    url = url or extra.get("url", "")
    if not url and "account" in extra:
        url = extra["account"].get_absolute_url()
    Notification.objects.bulk_create(
        [
            Notification(user_id=u.pk, verb=verb, request=account_request, text=text[:300], url=url)
            for u in users
        ]
    )
    site = settings.CAMPUSMEDIA_SITE_URL.rstrip("/")
    for user in users:
        if not user.email:
            continue
        context = {
            **extra,
            "user": user,
            "verb": verb,
            "text": text,
            "request": account_request,
            "link": f"{site}{url}",
        }
        send_mail_template("emails/notice", context, [user.email])


def send_mail_template(name: str, context: dict[str, Any], to: list[str]) -> None:
    subject = " ".join(render_to_string(f"{name}_subject.txt", context).split())
    body = render_to_string(f"{name}_body.txt", context)
    message = EmailMultiAlternatives(subject, body, to=to)
    message.attach_alternative(render_to_string(f"{name}_body.html", context), "text/html")
    message.send()


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
