"""Build large registry data fast, for benchmarks.

    manage.py seed_scale [--units 100] [--accounts 3000] [--users 1000] [--seed 2026]

Tops the database up to the requested totals: a second run with ``--accounts 150000`` after a first
with 3000 adds 147000 accounts and nothing else. Rows are written with ``bulk_create`` in batches,
bypassing the per-row services (the history gets one "created" row per account all the same, with
the source "批量生成"); the permission rows are brought in line once at the end by
``services.unit_permissions_sync``. Deterministic for a given ``--seed`` and starting database.

The tree reuses the school, the propaganda department and the Youth League when they exist (for
example after ``seed_demo``) and adds units with codes starting ``s-``. Logins are
``scale_sec_<n>`` / ``scale_head_<n>`` (secretary or head of one unit each) and
``scale_propaganda`` (propaganda reviewer), all with the password ``Demo@2026``.
"""

from __future__ import annotations

import datetime
import itertools
import random
import time
from collections import Counter
from functools import partial
from typing import Any, TypeVar

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from campusmedia import demo, services
from campusmedia.choices import (
    TIER_OF_KIND,
    AccountStatus,
    Role,
    TeamRole,
    Tier,
    UnitDuty,
    UnitKind,
    Verification,
)
from campusmedia.models import (
    AccountHistory,
    MediaAccount,
    Person,
    Platform,
    RoleAssignment,
    TeamMember,
    Unit,
    UnitGroupObjectPermission,
    User,
)

M = TypeVar("M", bound=models.Model)

SUPERVISOR_PREFIX = "s-sup-"
USER_PREFIX = "scale_"
# How many accounts each kind of unit owns, relative to the others.
KIND_WEIGHTS: dict[str, int] = {
    UnitKind.SCHOOL: 1,
    UnitKind.FUNCTIONAL: 3,
    UnitKind.DIRECT: 3,
    UnitKind.COLLEGE: 8,
    UnitKind.SUB_UNIT: 2,
    UnitKind.COLLEGE_STUDENT_ORG: 3,
    UnitKind.SCHOOL_STUDENT_ORG: 3,
}
STATUS_WEIGHTS: dict[str, int] = {
    AccountStatus.ACTIVE: 80,
    AccountStatus.APPROVED: 6,
    AccountStatus.SUSPENDED: 5,
    AccountStatus.ORDERED_TO_CLOSE: 2,
    AccountStatus.CLOSED: 7,
}
FOLLOWERS: dict[int, tuple[int, int]] = {
    Tier.ONE: (20_000, 300_000),
    Tier.TWO: (500, 40_000),
    Tier.THREE: (50, 8_000),
}
EARLIEST = datetime.date(2013, 1, 1)


class Command(BaseCommand):
    help = "Top the database up to N units, accounts and logins with bulk writes (benchmarks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--units", type=int, default=100, help="total units wanted")
        parser.add_argument("--accounts", type=int, default=3000, help="total accounts wanted")
        parser.add_argument("--users", type=int, default=1000, help="scale_sec/scale_head logins")
        parser.add_argument("--seed", type=int, default=2026, help="random seed")
        parser.add_argument("--batch-size", type=int, default=5000, help="accounts per batch")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        self.seed: int = options["seed"]
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.created: Counter[str] = Counter()
        with transaction.atomic():
            root, propaganda, league = self._anchors()
            self._units(options["units"], root, league)
            supervisors = self._supervisors()
            password = make_password(demo.PASSWORD)  # once: hashing 1000 times takes minutes
            self._logins(options["users"], password)
            self._propaganda_login(propaganda, password)
            self._accounts(options["accounts"], supervisors, options["batch_size"])
            self.created["permission rows"] = services.unit_permissions_sync()
        elapsed = time.perf_counter() - started
        if options["verbosity"] >= 1:
            self._report(elapsed)

    # The tree

    def _anchor(self, existing: Unit | None, **fields: Any) -> Unit:
        if existing is not None:
            return existing
        self.created["units"] += 1
        return Unit.objects.create(**fields)

    def _anchors(self) -> tuple[Unit, Unit, Unit]:
        """The school, the propaganda department and the Youth League: reused if present."""
        root = self._anchor(
            Unit.objects.filter(kind=UnitKind.SCHOOL, parent__isnull=True).order_by("pk").first(),
            code=f"{demo.SCALE_PREFIX}root",
            name=demo.SCHOOL_NAME,
            short_name="北辰",
            kind=UnitKind.SCHOOL,
        )
        propaganda = self._anchor(
            Unit.objects.filter(duty=UnitDuty.PROPAGANDA).first(),
            code=f"{demo.SCALE_PREFIX}xcb",
            name="党委宣传部",
            short_name="宣传部",
            kind=UnitKind.FUNCTIONAL,
            duty=UnitDuty.PROPAGANDA,
            parent=root,
        )
        league = self._anchor(
            Unit.objects.filter(duty=UnitDuty.YOUTH_LEAGUE).first(),
            code=f"{demo.SCALE_PREFIX}tw",
            name="校团委",
            short_name="团委",
            kind=UnitKind.FUNCTIONAL,
            duty=UnitDuty.YOUTH_LEAGUE,
            parent=root,
        )
        return root, propaganda, league

    def _units(self, target: int, root: Unit, league: Unit) -> None:
        ids: dict[str, int] = dict(Unit.objects.values_list("code", "pk"))
        missing = target - len(ids)
        if missing <= 0:
            return
        pending: list[demo.ScaleUnit] = []
        for spec in demo.scale_units():
            if len(pending) == missing:
                break
            if spec.code not in ids:
                pending.append(spec)
        ids |= {demo.ROOT: root.pk, demo.LEAGUE: league.pk}
        order = (Unit.objects.aggregate(m=Max("sort_order"))["m"] or 0) + 1
        while pending:  # parents first: one wave per level of the tree
            ready = [spec for spec in pending if spec.parent in ids]
            Unit.objects.bulk_create(
                Unit(
                    code=spec.code,
                    name=spec.name,
                    kind=spec.kind,
                    parent_id=ids[spec.parent],
                    sort_order=order + i,
                )
                for i, spec in enumerate(ready)
            )
            order += len(ready)
            ids |= dict(
                Unit.objects.filter(code__in=[s.code for s in ready]).values_list("code", "pk")
            )
            pending = [spec for spec in pending if spec.code not in ids]
            self.created["units"] += len(ready)

    # People and logins

    def _supervisors(self) -> dict[int, int]:
        """Unit id → the person who supervises that unit's scale accounts (one per unit)."""
        found = {
            int(str(staff_no).removeprefix(SUPERVISOR_PREFIX)): pk
            for staff_no, pk in Person.objects.filter(
                staff_no__startswith=SUPERVISOR_PREFIX
            ).values_list("staff_no", "pk")
        }
        units = Unit.objects.exclude(pk__in=found).values_list("pk", flat=True).order_by("pk")
        ids = demo.Identities(random.Random(f"{self.seed}:supervisors:{len(found)}"))
        people = []
        for unit_id in units:
            name, pinyin = ids.name()
            people.append(
                Person(
                    name=name,
                    staff_no=f"{SUPERVISOR_PREFIX}{unit_id}",
                    unit_id=unit_id,
                    title="分管领导",
                    office_phone=ids.office_phone(),
                    mobile=ids.mobile(),
                    email=ids.email(pinyin),
                )
            )
        for person in _bulk_create(Person, people, key="staff_no"):
            found[int(str(person.staff_no).removeprefix(SUPERVISOR_PREFIX))] = person.pk
        self.created["people"] += len(people)
        return found

    def _logins(self, count: int, password: str) -> None:
        """``count`` logins, each with a person and a secretary or head role in one unit."""
        existing = set(
            User.objects.filter(username__startswith=USER_PREFIX).values_list("username", flat=True)
        )
        units = list(
            Unit.objects.exclude(kind=UnitKind.SCHOOL).order_by("pk").values_list("pk", "code")
        )
        wanted: list[tuple[str, str, int]] = []  # username, role, unit id
        for i in range(count):
            pair = i // 2 + 1
            role = Role.SECRETARY if i % 2 == 0 else Role.HEAD
            username = f"{USER_PREFIX}{'sec' if role == Role.SECRETARY else 'head'}_{pair}"
            if username not in existing:
                wanted.append((username, role, units[(pair - 1) % len(units)][0]))
        if not wanted:
            return
        users = _bulk_create(
            User,
            [
                User(
                    username=username,
                    password=password,
                    must_change_password=False,
                    password_changed_at=self.now,
                )
                for username, _role, _unit in wanted
            ],
            key="username",
        )
        ids = demo.Identities(random.Random(f"{self.seed}:logins:{len(existing)}"))
        people = []
        for user, (username, title_role, unit_id) in zip(users, wanted, strict=True):
            name, pinyin = ids.name()
            people.append(
                Person(
                    name=name,
                    staff_no=username,
                    user_id=user.pk,
                    unit_id=unit_id,
                    title="单位负责人" if title_role == Role.HEAD else "秘书",
                    office_phone=ids.office_phone(),
                    mobile=ids.mobile(),
                    email=ids.email(pinyin),
                )
            )
        people = _bulk_create(Person, people, key="staff_no")
        codes = dict(units)
        groups = services._ensure_groups({(unit, role) for _u, role, unit in wanted}, codes)
        RoleAssignment.objects.bulk_create(
            RoleAssignment(
                person_id=person.pk,
                unit_id=unit_id,
                role=role,
                group_id=groups[(unit_id, role)],
                starts_on=self.today,
            )
            for person, (_username, role, unit_id) in zip(people, wanted, strict=True)
        )
        self.created["logins"] += len(wanted)
        self.created["people"] += len(wanted)

    def _propaganda_login(self, propaganda: Unit, password: str) -> None:
        username = f"{USER_PREFIX}propaganda"
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(
                username=username,
                password=password,
                must_change_password=False,
                password_changed_at=self.now,
            )
            self.created["logins"] += 1
        person = Person.objects.filter(user=user).first()
        if person is None:
            person = Person.objects.create(
                name="宣传部审核员", staff_no=username, user=user, unit=propaganda, title="审核员"
            )
            self.created["people"] += 1
        role = Role.PROPAGANDA_REVIEWER
        if not RoleAssignment.objects.filter(person=person, unit=propaganda, role=role).exists():
            services.role_assign(person=person, unit=propaganda, role=role, actor=None)

    # Accounts

    def _accounts(self, target: int, supervisors: dict[int, int], batch_size: int) -> None:
        missing = target - MediaAccount.objects.count()
        if missing <= 0:
            return
        accounts = _RowWriter(MediaAccount, self.now)
        team = _RowWriter(TeamMember, self.now)
        history = _RowWriter(AccountHistory, self.now)
        rng = random.Random(f"{self.seed}:accounts:{accounts.next_id}")
        units = list(Unit.objects.order_by("pk").values_list("pk", "kind", "name", "short_name"))
        unit_weights = [KIND_WEIGHTS[kind] for _pk, kind, _n, _s in units]
        platforms = list(Platform.objects.values_list("pk", "code", "account_types"))
        platform_weights = [demo.PLATFORM_WEIGHTS.get(code, 1) for _pk, code, _t in platforms]
        statuses = [str(status) for status in STATUS_WEIGHTS]
        status_weights = list(STATUS_WEIGHTS.values())
        status_labels = {s.value: str(s.label) for s in AccountStatus}
        days = (self.today - EARLIEST).days
        name_label = str(MediaAccount._meta.get_field("name").verbose_name)
        status_label = str(MediaAccount._meta.get_field("status").verbose_name)
        descriptions = {
            (pk, code): f"{style}形式，{demo.DESCRIPTION_BY_KIND[kind].format(unit=name)}"
            for pk, kind, name, _s in units
            for code, style in demo.PLATFORM_STYLE.items()
        }
        for offset in range(0, missing, batch_size):
            size = min(batch_size, missing - offset)
            owners = rng.choices(units, weights=unit_weights, k=size)
            kinds = rng.choices(platforms, weights=platform_weights, k=size)
            states = rng.choices(statuses, weights=status_weights, k=size)
            account_rows, team_rows, history_rows = [], [], []
            for owner, platform, status in zip(owners, kinds, states, strict=True):
                pk = accounts.take_id()
                unit_id, kind, unit_name, short_name = owner
                platform_id, code, types = platform
                tier = TIER_OF_KIND[kind]
                opened = EARLIEST + datetime.timedelta(days=rng.randrange(days - 60))
                name = f"{short_name or unit_name}{rng.choice(demo.SCALE_NAME_WORDS)}{pk}"
                row: dict[str, Any] = {
                    "id": pk,
                    "name": name,
                    "platform_id": platform_id,
                    "account_type": rng.choice(types) if types else "",
                    "owner_unit_id": unit_id,
                    "content_categories": list(rng.choice(demo.CATEGORIES_BY_KIND[kind])),
                    "content_forms": list(rng.choice(demo.PLATFORM_FORMS[code])),
                    "function_description": descriptions[unit_id, code],
                    "operator_count": rng.randint(1, 8),
                    "status": status,
                    "approval_number": f"XCB-{opened.year}-{pk % 10000:04d}",
                }
                if status == AccountStatus.APPROVED:
                    row["planned_opening_on"] = self.today + datetime.timedelta(
                        days=rng.randint(7, 90)
                    )
                    starts_on = self.today
                else:
                    verified = tier != Tier.THREE and rng.random() < 0.7
                    row |= {
                        "account_id": demo.scale_account_id(code, pk),
                        "opened_on": opened,
                        "follower_count": rng.randint(*FOLLOWERS[tier]),
                        "verification": str(
                            Verification.VERIFIED if verified else Verification.NOT_VERIFIED
                        ),
                    }
                    if status == AccountStatus.CLOSED:
                        row["closed_on"] = opened + datetime.timedelta(
                            days=rng.randint(1, (self.today - opened).days)
                        )
                    starts_on = opened
                account_rows.append(accounts.row(row))
                team_rows.append(
                    team.row(
                        {
                            "id": team.take_id(),
                            "account_id": pk,
                            "person_id": supervisors[unit_id],
                            "role": str(TeamRole.SUPERVISOR),
                            "starts_on": starts_on,
                        }
                    )
                )
                history_rows.append(
                    history.row(
                        {
                            "id": history.take_id(),
                            "account_id": pk,
                            "at": self.now,
                            "actor_name": "seed_scale",
                            "action": str(AccountHistory.Action.CREATED),
                            "changes": {
                                "name": {"label": name_label, "old": "", "new": name},
                                "status": {
                                    "label": status_label,
                                    "old": "",
                                    "new": status_labels[status],
                                },
                            },
                            "source": demo.SCALE_SOURCE,
                        }
                    )
                )
            accounts.insert(account_rows)
            team.insert(team_rows)
            history.insert(history_rows)
            self.created["accounts"] += size
        _reset_sequences([MediaAccount, TeamMember, AccountHistory])

    # Output

    def _report(self, elapsed: float) -> None:
        accounts = MediaAccount.objects.count()
        rows = UnitGroupObjectPermission.objects.count()
        made = ", ".join(f"{name} {n}" for name, n in sorted(self.created.items()) if n)
        self.stdout.write(
            f"Units {Unit.objects.count()}, accounts {accounts}, people {Person.objects.count()}, "
            f"logins {User.objects.count()}, role assignments {RoleAssignment.objects.count()}, "
            f"permission rows {rows} ({rows / max(accounts, 1):.3f} per account)"
        )
        self.stdout.write(f"Added: {made or 'nothing'}")
        self.stdout.write(f"Elapsed: {elapsed:.1f} s")


def _bulk_create(model: type[M], objs: list[M], *, key: str | None) -> list[M]:
    """``bulk_create`` that always hands back primary keys.

    SQLite ≥ 3.35 and PostgreSQL return them; elsewhere they are read back by ``key`` or, for rows
    without a natural key, as the new ids in insertion order (one writer inside one transaction).
    """
    if not objs:
        return objs
    before = model._default_manager.aggregate(m=Max("pk"))["m"] or 0
    created = model._default_manager.bulk_create(objs)
    if all(obj.pk is not None for obj in created):
        return created
    if key is not None:
        pks = dict(
            model._default_manager.filter(
                **{f"{key}__in": [getattr(o, key) for o in created]}
            ).values_list(key, "pk")
        )
        for obj in created:
            obj.pk = pks[getattr(obj, key)]
    else:
        new = (
            model._default_manager.filter(pk__gt=before).order_by("pk").values_list("pk", flat=True)
        )
        for obj, pk in zip(created, itertools.islice(new.iterator(), len(created)), strict=True):
            obj.pk = pk
    return created


class _RowWriter:
    """Inserts rows of one model with ``executemany``: several times faster than ``bulk_create``
    at 150,000 rows, because no model instances are built and the SQL is compiled once.

    Rows are dicts by attribute name and carry their primary key (taken from ``take_id``; the
    sequences are reset afterwards). A field left out takes its default; ``auto_now`` and
    ``auto_now_add`` fields take ``now``. Values are adapted like Django does for the backend.
    """

    def __init__(self, model: type[models.Model], now: datetime.datetime) -> None:
        meta = model._meta
        self.next_id = (model._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1
        self.fields: list[tuple[str, Any, Any]] = []  # attname, adapter, prepared default
        for f in meta.concrete_fields:
            default: Any
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                default = now.date() if type(f) is models.DateField else now
            else:
                default = None if f.primary_key else f.get_default()
            prepared = None if default is None else f.get_db_prep_save(default, connection)
            self.fields.append((f.attname, _adapter(f), prepared))
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in meta.concrete_fields)
        marks = ", ".join(["%s"] * len(self.fields))
        self.sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({marks})"

    def take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def row(self, values: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            adapt(values[name]) if name in values else default
            for name, adapt, default in self.fields
        )

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        with connection.cursor() as cursor:
            cursor.executemany(self.sql, rows)


def _same(value: Any) -> Any:
    return value


def _text(value: Any) -> Any:
    # Choices members become plain strings (psycopg would adapt an Enum by name).
    return value if value is None or type(value) is str else str(value)


def _adapter(field: Any) -> Any:
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.ForeignKey | models.IntegerField | models.BooleanField):
        return _same
    if type(field) in (models.CharField, models.TextField, models.SlugField, models.URLField):
        return _text
    return partial(_prep, field)  # JSON, encrypted text, anything else: Django's own path


def _prep(field: Any, value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def _reset_sequences(model_list: list[type[models.Model]]) -> None:
    """After inserting explicit ids (PostgreSQL keeps a sequence; SQLite needs nothing)."""
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
