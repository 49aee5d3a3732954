"""Load the demo university 北辰大学: units, people, logins, roles and about 140 accounts.

    manage.py seed_demo

Idempotent: rows are looked up by their natural keys (unit code, staff number, username, platform +
name + owning unit) and only the missing ones are created, so a second run creates nothing. Every
write goes through ``campusmedia.services``, so the account history and the audit log are filled as
if the data had been entered by hand. All demo logins share the password ``Demo@2026``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from alliance.demo import seed_demo_alliance
from approvals.demo import seed_demo_requests
from approvals.services import approval_counters_sync
from campusmedia import demo, services
from campusmedia.choices import TeamRole, UnitKind
from campusmedia.models import (
    MediaAccount,
    Person,
    Platform,
    RoleAssignment,
    TeamMember,
    Unit,
    User,
)
from filing.demo import seed_demo_offices

LOGIN_ORDER = (
    "propaganda",
    "propaganda_head",
    "league",
    "sec_cs",
    "head_cs",
    "sec_me",
    "auditor",
    "admin",
)


class Command(BaseCommand):
    help = "Load the demo university 北辰大学 (idempotent); all logins use the password Demo@2026."

    def handle(self, *args: Any, **options: Any) -> None:
        self.created: Counter[str] = Counter()
        plan = demo.build_demo_plan(timezone.localdate())
        with transaction.atomic():
            # One hash for every demo login: hashing is deliberately slow.
            self.password = make_password(demo.PASSWORD)
            self.actor = self._admin_user()
            units = self._units(plan)
            people = self._people(plan, units)
            self._accounts(plan, units, people)
            services.unit_permissions_sync()
            # New approvals continue after the numbers the demo accounts already carry.
            approval_counters_sync()
            seed_demo_requests()
            seed_demo_offices()
            seed_demo_alliance()
        self._report(plan, units)

    # Units

    def _units(self, plan: demo.DemoPlan) -> dict[str, Unit]:
        units: dict[str, Unit] = {}
        for seed in plan.units:
            unit = Unit.objects.filter(code=seed.code).first()
            if unit is None and seed.duty:
                # seed_scale may have made the unit with this duty already (one per duty).
                unit = Unit.objects.filter(duty=seed.duty).first()
            if unit is None and seed.kind == UnitKind.SCHOOL:
                unit = Unit.objects.filter(kind=UnitKind.SCHOOL, parent__isnull=True).first()
            if unit is None:
                unit = services.unit_create(
                    actor=self.actor,
                    code=seed.code,
                    name=seed.name,
                    short_name=seed.short_name,
                    kind=seed.kind,
                    duty=seed.duty,
                    parent=units[seed.parent] if seed.parent else None,
                    uscc=seed.uscc,
                    address=seed.address,
                    phone=seed.phone,
                    sort_order=seed.sort_order,
                )
                self.created["units"] += 1
            units[seed.code] = unit
        return units

    # Logins, people and roles

    def _admin_user(self) -> User:
        """The superuser comes first: it is the actor of everything the demo writes."""
        return self._user("admin", superuser=True)

    def _user(self, username: str, *, superuser: bool = False) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                is_staff=superuser,
                is_superuser=superuser,
                must_change_password=False,
                password=self.password,
                password_changed_at=timezone.now(),
            )
            user.save()
            self.created["logins"] += 1
        return user

    def _people(self, plan: demo.DemoPlan, units: dict[str, Unit]) -> dict[str, Person]:
        logins = {login.staff_no: login for login in plan.logins}
        people: dict[str, Person] = {}
        for seed in plan.people:
            login = logins.get(seed.staff_no)
            user = self._user(login.username, superuser=login.is_superuser) if login else None
            person = Person.objects.filter(staff_no=seed.staff_no).first()
            if person is None:
                person = services.person_create(
                    actor=self.actor,
                    name=seed.name,
                    staff_no=seed.staff_no,
                    unit=units[seed.unit],
                    title=seed.title,
                    office_phone=seed.office_phone,
                    mobile=seed.mobile,
                    email=seed.email,
                    wechat_id=seed.wechat_id,
                    id_number=seed.id_number,
                    is_student=seed.is_student,
                    expected_end=seed.expected_end,
                    user=user if user is not None and not _has_person(user) else None,
                )
                self.created["people"] += 1
            elif user is not None and person.user_id is None and not _has_person(user):
                person = services.person_update(person=person, actor=self.actor, user=user)
            people[seed.staff_no] = person
            for role in seed.roles:
                unit = units[seed.unit]
                # Any assignment, current or ended: an ended role stays ended.
                if not RoleAssignment.objects.filter(person=person, unit=unit, role=role).exists():
                    services.role_assign(
                        person=person,
                        unit=unit,
                        role=role,
                        actor=self.actor,
                        starts_on=seed.since,
                    )
                    self.created["roles"] += 1
        return people

    # Accounts and their teams

    def _accounts(
        self, plan: demo.DemoPlan, units: dict[str, Unit], people: dict[str, Person]
    ) -> None:
        platforms = {p.code: p for p in Platform.objects.all()}
        for seed in plan.accounts:
            platform, unit = platforms[seed.platform], units[seed.unit]
            account_id = str(seed.fields.get("account_id") or "")
            account = MediaAccount.objects.filter(
                platform=platform, name=seed.name, owner_unit=unit
            ).first()
            if account is None and account_id:
                account = MediaAccount.objects.filter(
                    platform=platform, account_id=account_id
                ).first()
            if account is None:
                approval = str(seed.fields.get("approval_number") or "")
                account = services.account_create(
                    actor=self.actor,
                    source=approval or demo.DEMO_SOURCE,
                    platform=platform,
                    owner_unit=unit,
                    name=seed.name,
                    status=seed.status,
                    **seed.fields,
                )
                self.created["accounts"] += 1
            self._team(account, seed, people)

    def _team(
        self, account: MediaAccount, seed: demo.AccountSeed, people: dict[str, Person]
    ) -> None:
        members = [(seed.supervisor, TeamRole.SUPERVISOR)] + [
            (staff_no, TeamRole.ADMINISTRATOR) for staff_no in seed.administrators
        ]
        for staff_no, role in members:
            person = people[staff_no]
            if TeamMember.objects.filter(account=account, person=person, role=role).exists():
                continue
            if (
                role == TeamRole.SUPERVISOR
                and TeamMember.objects.current().filter(account=account, role=role).exists()
            ):
                continue  # someone else leads it now: do not replace them
            services.team_member_add(
                account=account,
                person=person,
                role=role,
                actor=self.actor,
                source=demo.DEMO_SOURCE,
                starts_on=seed.team_since,
            )
            self.created["team members"] += 1

    # Output

    def _report(self, plan: demo.DemoPlan, units: dict[str, Unit]) -> None:
        w = self.stdout.write
        seeds = {seed.staff_no: seed for seed in plan.people}
        rows = sorted(
            plan.logins,
            key=lambda login: (
                LOGIN_ORDER.index(login.username) if login.username in LOGIN_ORDER else 99
            ),
        )
        w(f"\n演示数据：{demo.SCHOOL_NAME}（所有登录账号的密码均为 {demo.PASSWORD}）\n")
        w(f"{'login':<16} {'role':<12} unit")
        for login in rows:
            unit = units[seeds[login.staff_no].unit]
            w(f"{login.username:<16} {login.role:<12} {unit.name}")
        made = ", ".join(f"{name} {n}" for name, n in sorted(self.created.items())) or "nothing"
        w(
            f"\nTotals: units {Unit.objects.count()}, accounts {MediaAccount.objects.count()}, "
            f"people {Person.objects.count()}, logins {User.objects.count()}"
        )
        w(f"Created this run: {made}")


def _has_person(user: User) -> bool:
    return Person.objects.filter(user=user).exists()
