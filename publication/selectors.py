"""What the public pages, the PDF and the verification API read. Query counts do not grow with
the number of accounts, and nothing here reads a person: the list and the answers carry the
accounts' public fields only (DOMAIN.md section 8)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from campusmedia.choices import TIER_OF_KIND, AccountStatus, Tier, UnitKind, choice_labels
from campusmedia.models import MediaAccount, Unit
from publication.models import Edition, EditionEntry

# The verification answers at most this many accounts; a longer list asks for a fuller name.
LOOKUP_LIMIT = 20
LOOKUP_MIN_CHARS = 2
LOOKUP_MAX_CHARS = 100
NOT_FOUND = "未查到：该账号不是本校登记的官方账号"

S = AccountStatus


def _date_text(value: datetime.date | None) -> str:
    if value is None:
        return ""
    return _("%(y)s年%(m)s月%(d)s日") % {"y": value.year, "m": value.month, "d": value.day}


def school_name() -> str:
    """The name of the school (the root of the unit tree), which the list is published in."""
    name = (
        Unit.objects.filter(kind=UnitKind.SCHOOL, parent__isnull=True)
        .order_by("pk")
        .values_list("name", flat=True)
        .first()
    )
    return name or ""


def editions() -> QuerySet[Edition]:
    """Every edition, newest first, with the number of accounts it lists (``entry_count``)."""
    return Edition.objects.annotate(entry_count=Count("entries")).order_by("-number")


def edition_entries(edition: Edition) -> list[EditionEntry]:
    return list(EditionEntry.objects.filter(edition=edition).order_by("position"))


# --- One edition, grouped -------------------------------------------------------------------


@dataclass
class UnitGroup:
    name: str
    entries: list[EditionEntry] = field(default_factory=list)


@dataclass
class TierGroup:
    tier: int
    label: str
    units: list[UnitGroup] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(unit.entries) for unit in self.units)


def group_entries(entries: Iterable[EditionEntry]) -> list[TierGroup]:
    """Entries (in the edition's order) grouped by tier, then by unit."""
    labels = choice_labels(Tier)
    groups: list[TierGroup] = []
    for entry in entries:
        if not groups or groups[-1].tier != entry.tier:
            groups.append(TierGroup(entry.tier, labels.get(entry.tier, str(entry.tier))))
        units = groups[-1].units
        if not units or units[-1].name != entry.unit_name:
            units.append(UnitGroup(entry.unit_name))
        units[-1].entries.append(entry)
    return groups


# --- What changed since the previous edition ------------------------------------------------


@dataclass(frozen=True)
class Rename:
    entry: EditionEntry  # as this edition lists it
    old_name: str


@dataclass(frozen=True)
class Removal:
    """An account the previous edition listed and this one does not, with what it is now."""

    entry: EditionEntry  # as the previous edition listed it
    status: str  # the account's status now ("" when it was deleted from the registry)
    closed_on: datetime.date | None

    @property
    def closed(self) -> bool:
        return self.status == S.CLOSED

    @property
    def reason(self) -> str:
        if self.status == S.CLOSED:
            if self.closed_on:
                return _("已停办（%(date)s停办）") % {"date": _date_text(self.closed_on)}
            return _("已停办")
        if self.status == S.SUSPENDED:
            return _("已暂停运行")
        if self.status == S.ORDERED_TO_CLOSE:
            return _("已被责令注销")
        if not self.status:
            return _("已从登记中删除")
        # Active again by now, or not yet opened: it was not running when this edition came out.
        return _("发布时不在运行中")


@dataclass
class EditionChanges:
    previous: Edition | None
    added: list[EditionEntry] = field(default_factory=list)
    renamed: list[Rename] = field(default_factory=list)
    removed: list[Removal] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.added or self.renamed or self.removed)


def _key(entry: EditionEntry) -> Any:
    """The same account in two editions: by the account, or by what was printed once the
    account row is gone."""
    if entry.account_id is not None:
        return entry.account_id
    return ("printed", entry.platform_name, entry.account_code, entry.account_name)


def edition_changes(
    edition: Edition, entries: Sequence[EditionEntry] | None = None
) -> EditionChanges:
    """What changed since the previous edition: accounts added, renamed (same account, another
    name), and removed, each removal with what the account is now (closed, and since when;
    suspended; ordered to close). At most three queries, however many accounts; ``entries``
    (this edition's, if already read) saves one."""
    previous = Edition.objects.filter(number=edition.number - 1).first()
    if previous is None:
        return EditionChanges(previous=None)
    if entries is None:
        entries = edition_entries(edition)
    before = list(
        EditionEntry.objects.filter(edition=previous)
        .select_related("account")
        .only(
            "position",
            "account_name",
            "platform_name",
            "account_type",
            "account_code",
            "unit_name",
            "tier",
            "account__status",
            "account__closed_on",
        )
        .order_by("position")
    )
    old = {_key(entry): entry for entry in before}
    now = {_key(entry) for entry in entries}
    changes = EditionChanges(previous=previous)
    for entry in entries:
        was = old.get(_key(entry))
        if was is None:
            changes.added.append(entry)
        elif was.account_name != entry.account_name:
            changes.renamed.append(Rename(entry=entry, old_name=was.account_name))
    for entry in before:
        if _key(entry) not in now:
            account = entry.account
            changes.removed.append(
                Removal(
                    entry=entry,
                    status=account.status if account is not None else "",
                    closed_on=account.closed_on if account is not None else None,
                )
            )
    return changes


# --- Verification ----------------------------------------------------------------------------


class Verdict:
    """What an answer says about an account."""

    OFFICIAL = "official"
    SUSPENDED = "suspended"
    ORDERED_TO_CLOSE = "ordered_to_close"
    CLOSED = "closed"
    NOT_OPENED = "not_opened"


_VERDICT_OF_STATUS: dict[str, str] = {
    S.ACTIVE: Verdict.OFFICIAL,
    S.SUSPENDED: Verdict.SUSPENDED,
    S.ORDERED_TO_CLOSE: Verdict.ORDERED_TO_CLOSE,
    S.CLOSED: Verdict.CLOSED,
    S.APPROVED: Verdict.NOT_OPENED,
}


@dataclass(frozen=True)
class Answer:
    """One account as the verification shows it: public fields and what they mean."""

    name: str
    platform: str
    account_type: str
    account_id: str
    unit: str
    tier: int
    tier_label: str
    status: str
    status_label: str
    verdict: str
    approval_number: str
    opened_on: datetime.date | None
    closed_on: datetime.date | None
    url: str
    exact: bool  # the name or the account id is the query itself, not only contains it

    @property
    def official(self) -> bool:
        return self.verdict == Verdict.OFFICIAL

    @property
    def headline(self) -> str:
        return {
            Verdict.OFFICIAL: _("官方账号"),
            Verdict.SUSPENDED: _("已暂停运行"),
            Verdict.ORDERED_TO_CLOSE: _("已被责令注销"),
            Verdict.CLOSED: _("已停办"),
            Verdict.NOT_OPENED: _("尚未开通"),
        }[self.verdict]

    @property
    def explanation(self) -> str:
        if self.verdict == Verdict.OFFICIAL:
            if self.opened_on:
                return _("本校登记的官方账号，自%(date)s起运行。") % {
                    "date": _date_text(self.opened_on)
                }
            return _("本校登记的官方账号。")
        if self.verdict == Verdict.SUSPENDED:
            return _("本校登记的账号，目前已暂停运行，暂不发布信息。")
        if self.verdict == Verdict.ORDERED_TO_CLOSE:
            return _("该账号已被党委宣传部责令注销，正在停办，不再代表学校发布信息。")
        if self.verdict == Verdict.CLOSED:
            if self.closed_on:
                return _("该账号已于%(date)s停办，不再是本校官方账号。") % {
                    "date": _date_text(self.closed_on)
                }
            return _("该账号已停办，不再是本校官方账号。")
        return _("该账号已获批准但尚未开通，目前不是本校官方账号。")

    def as_dict(self) -> dict[str, Any]:
        """The answer in the API: the public fields and the verdict, nothing else."""
        return {
            "name": self.name,
            "platform": self.platform,
            "account_type": self.account_type,
            "account_id": self.account_id,
            "unit": self.unit,
            "tier": self.tier,
            "tier_label": self.tier_label,
            "status": self.status,
            "status_label": self.status_label,
            "official": self.official,
            "verdict": self.verdict,
            "headline": self.headline,
            "explanation": self.explanation,
            "approval_number": self.approval_number,
            "opened_on": self.opened_on.isoformat() if self.opened_on else None,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "url": self.url,
            "exact_match": self.exact,
        }


@dataclass(frozen=True)
class Lookup:
    query: str
    answers: list[Answer]
    more: bool  # more accounts matched than are shown

    @property
    def official_match(self) -> bool:
        """An official account is exactly what was asked for (its name or its account id)."""
        return any(answer.official and answer.exact for answer in self.answers)


def normalize_query(raw: str | None) -> str:
    """The query as searched: surrounding spaces and inner runs of spaces removed."""
    return " ".join((raw or "").split())


def query_problem(query: str) -> str:
    """Why ``query`` cannot be searched, or "" when it can."""
    if len(query) < LOOKUP_MIN_CHARS:
        return _("请输入至少 %(n)s 个字符的账号名称或账号ID。") % {"n": LOOKUP_MIN_CHARS}
    if len(query) > LOOKUP_MAX_CHARS:
        return _("查询内容过长：请不要超过 %(n)s 个字符。") % {"n": LOOKUP_MAX_CHARS}
    return ""


def registry_lookup(query: str) -> Lookup:
    """Accounts of the registry whose name contains ``query`` or whose account id is ``query``
    (either case), exact matches first, then running accounts; one query."""
    handle = query.removeprefix("@")
    exact = Q(name__iexact=query) | Q(account_id__iexact=handle)
    if handle != query:
        exact |= Q(account_id__iexact=query)
    rank = [S.ACTIVE, S.SUSPENDED, S.ORDERED_TO_CLOSE, S.APPROVED, S.CLOSED]
    rows = list(
        MediaAccount.objects.filter(Q(name__icontains=query) | exact)
        .select_related("platform", "owner_unit")
        .only(
            "name",
            "account_id",
            "account_type",
            "status",
            "approval_number",
            "opened_on",
            "closed_on",
            "url",
            "platform__name",
            "owner_unit__name",
            "owner_unit__kind",
        )
        .annotate(
            exact_match=Case(When(exact, then=Value(0)), default=Value(1)),
            status_rank=Case(
                *[When(status=status, then=Value(i)) for i, status in enumerate(rank)],
                default=Value(len(rank)),
                output_field=IntegerField(),
            ),
        )
        .order_by("exact_match", "status_rank", "name", "pk")[: LOOKUP_LIMIT + 1]
    )
    tiers, statuses = choice_labels(Tier), choice_labels(AccountStatus)
    answers = []
    for account in rows[:LOOKUP_LIMIT]:
        tier = TIER_OF_KIND[account.owner_unit.kind]
        answers.append(
            Answer(
                name=account.name,
                platform=account.platform.name,
                account_type=account.account_type,
                account_id=account.account_id,
                unit=account.owner_unit.name,
                tier=tier,
                tier_label=tiers.get(tier, str(tier)),
                status=account.status,
                status_label=statuses.get(account.status, account.status),
                verdict=_VERDICT_OF_STATUS.get(account.status, Verdict.NOT_OPENED),
                approval_number=account.approval_number,
                opened_on=account.opened_on,
                closed_on=account.closed_on if account.status == S.CLOSED else None,
                url=account.url,
                exact=account.exact_match == 0,
            )
        )
    return Lookup(query=query, answers=answers, more=len(rows) > LOOKUP_LIMIT)
