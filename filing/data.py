"""What the city forms are filled from: one ``FilingData`` per account, read from the registry.

The city modules (``filing.cities``) pick from it what their form asks for; only those values
are frozen in a batch, fingerprinted and printed (SECURITY.md: personal data leaves only in what
the form requires).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import translation

from campusmedia.choices import (
    AccountStatus,
    Role,
    TeamRole,
    UnitKind,
    Verification,
    choice_labels,
)
from campusmedia.models import MediaAccount, Person, RoleAssignment, TeamMember, Unit


@dataclass(frozen=True)
class Contact:
    """A person as the forms print them (values in full; the caller masks where it must)."""

    name: str = ""
    title: str = ""
    office_phone: str = ""
    mobile: str = ""
    email: str = ""
    wechat_id: str = ""
    id_number: str = ""


@dataclass(frozen=True)
class FilingData:
    """One account as every city form may need it.

    Choice fields carry both the stored values (``content_categories``: ``["news", …]``) and,
    through ``campusmedia.choices``, their labels; dates are ``datetime.date`` or ``None``.
    """

    account_pk: int
    name: str
    account_id: str
    platform_code: str
    platform_name: str
    account_type: str  # "服务号", "订阅号", … or ""
    content_categories: list[str]
    content_forms: list[str]
    function_description: str
    opened_on: datetime.date | None
    verified: bool | None  # None: not stated
    verification_note: str
    follower_count: int | None
    operator_count: int | None
    url: str
    status: str  # AccountStatus value
    closed_on: datetime.date | None
    approval_number: str
    # The owning unit: its own name, or for a student organisation without a code of its own,
    # the values of the nearest unit above it that has them.
    unit_name: str
    unit_kind: str  # UnitKind label, e.g. "职能部门"
    unit_address: str
    unit_phone: str
    unit_uscc: str
    school_name: str
    head: Contact  # the unit's head (单位负责人)
    supervisor: Contact  # the account's supervising leader (主要负责人)
    administrators: list[Contact] = field(default_factory=list)

    @property
    def administrator(self) -> Contact:
        """The first administrator (the forms have room for one)."""
        return self.administrators[0] if self.administrators else Contact()

    @property
    def is_closed(self) -> bool:
        return self.status == AccountStatus.CLOSED


def _contact(person: Person | None, *, title: str = "") -> Contact:
    if person is None:
        return Contact()
    return Contact(
        name=person.name,
        title=title or person.title,
        office_phone=person.office_phone,
        mobile=person.mobile or "",
        email=person.email or "",
        wechat_id=person.wechat_id,
        id_number=person.id_number or "",
    )


def filing_accounts(queryset: QuerySet[MediaAccount] | None = None) -> QuerySet[MediaAccount]:
    """Accounts with everything ``filing_data`` reads, in a fixed number of queries."""
    queryset = queryset if queryset is not None else MediaAccount.objects.all()
    return queryset.select_related(
        "platform", "owner_unit__parent__parent", "filing_office"
    ).prefetch_related(
        Prefetch(
            "team",
            queryset=TeamMember.objects.current().select_related("person").order_by("role", "id"),
            to_attr="current_team",
        )
    )


def unit_heads(unit_ids: Iterable[int]) -> dict[int, Person]:
    """The current head of each unit (the earliest appointed when there are several)."""
    heads: dict[int, Person] = {}
    assignments = (
        RoleAssignment.objects.active()
        .filter(unit_id__in=set(unit_ids), role=Role.HEAD)
        .select_related("person")
        .order_by("starts_on", "id")
    )
    for assignment in assignments:
        heads.setdefault(assignment.unit_id, assignment.person)
    return heads


def _chain(unit: Unit) -> list[Unit]:
    """The unit and the units above it, the school included."""
    units: list[Unit] = []
    node: Unit | None = unit
    while node is not None:
        units.append(node)
        node = node.parent
    return units


def _first(units: list[Unit], attribute: str) -> str:
    return next((getattr(u, attribute) for u in units if getattr(u, attribute)), "")


def build(account: MediaAccount, *, heads: dict[int, Person], labels: dict[str, str]) -> FilingData:
    """``account`` comes from ``filing_accounts``; ``heads`` from ``unit_heads`` over the chain."""
    unit = account.owner_unit
    chain = _chain(unit)
    school = next((u for u in chain if u.kind == UnitKind.SCHOOL), None)
    head = next((heads[u.pk] for u in chain if u.pk in heads), None)
    team = getattr(account, "current_team", None)
    if team is None:
        team = list(account.team.current().select_related("person").order_by("role", "id"))
    supervisor = next((m.person for m in team if m.role == TeamRole.SUPERVISOR), None)
    administrators = [_contact(m.person) for m in team if m.role == TeamRole.ADMINISTRATOR]
    verified = {Verification.VERIFIED: True, Verification.NOT_VERIFIED: False}.get(
        account.verification  # type: ignore[call-overload]
    )
    return FilingData(
        account_pk=account.pk,
        name=account.name,
        account_id=account.account_id,
        platform_code=account.platform.code,
        platform_name=account.platform.name,
        account_type=account.account_type,
        content_categories=list(account.content_categories or []),
        content_forms=list(account.content_forms or []),
        function_description=account.function_description,
        opened_on=account.opened_on,
        verified=verified,
        verification_note=account.verification_note,
        follower_count=account.follower_count,
        operator_count=account.operator_count,
        url=account.url,
        status=account.status,
        closed_on=account.closed_on,
        approval_number=account.approval_number,
        unit_name=unit.name,
        unit_kind=labels.get(unit.kind, ""),
        unit_address=_first(chain, "address"),
        unit_phone=_first(chain, "phone"),
        unit_uscc=_first(chain, "uscc"),
        school_name=school.name if school else "",
        head=_contact(head),
        supervisor=_contact(supervisor),
        administrators=administrators,
    )


def filing_data(accounts: Iterable[MediaAccount]) -> Iterator[FilingData]:
    """``FilingData`` for accounts loaded through ``filing_accounts``, with one query for the
    heads of all their units."""
    accounts = list(accounts)
    unit_ids = {u.pk for a in accounts for u in _chain(a.owner_unit)}
    heads = unit_heads(unit_ids)
    # The forms are Chinese whatever the language of the page that starts a batch: a label in
    # another language would change every fingerprint.
    with translation.override(settings.LANGUAGE_CODE):
        labels = {str(k): str(v) for k, v in choice_labels(UnitKind).items()}
    for account in accounts:
        yield build(account, heads=heads, labels=labels)
