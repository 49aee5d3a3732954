"""Shared personas: a small university built through campusmedia.services.

The tree (codes in brackets are the keys of ``World.units`` and ``World.accounts``)::

    某某大学 [school]
    ├── 党委宣传部 [propaganda]            duty propaganda    login ``propaganda`` (reviewer)
    ├── 校团委 [league]                    duty youth league  login ``league`` (approver)
    │   └── 校学生会 [school_org]          school-level student organisation
    ├── 计算机学院 [a]                     logins ``sec_a`` (secretary), ``head_a`` (head)
    │   ├── 计算机学院实验中心 [a_sub]      sub-unit
    │   └── 计算机学院学生会 [a_org]        college-level student organisation
    └── 机械学院 [b]                       login ``sec_b`` (secretary: the outsider)

``auditor`` holds the auditor role. Every unit owns one account with a supervising leader and an
administrator (mobile and e-mail set); the supervising leader of college A's account is
``head_a``'s person, who has the ID number ``11010519491231002X``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from django.test import Client

from campusmedia import services
from campusmedia.choices import AccountStatus, Role, TeamRole, UnitDuty, UnitKind
from campusmedia.models import MediaAccount, Person, Platform, Unit, User

PASSWORD = "Campus#2026x"
ID_NUMBER = "11010519491231002X"
SOURCE = "测试"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# key: (code, name, kind, duty, parent key)
UNITS: dict[str, tuple[str, str, str, str, str | None]] = {
    "school": ("school", "某某大学", UnitKind.SCHOOL, UnitDuty.NONE, None),
    "propaganda": ("propaganda", "党委宣传部", UnitKind.FUNCTIONAL, UnitDuty.PROPAGANDA, "school"),
    "league": ("league", "校团委", UnitKind.FUNCTIONAL, UnitDuty.YOUTH_LEAGUE, "school"),
    "school_org": ("school-su", "校学生会", UnitKind.SCHOOL_STUDENT_ORG, UnitDuty.NONE, "league"),
    "a": ("cs", "计算机学院", UnitKind.COLLEGE, UnitDuty.NONE, "school"),
    "a_sub": ("cs-lab", "计算机学院实验中心", UnitKind.SUB_UNIT, UnitDuty.NONE, "a"),
    "a_org": ("cs-su", "计算机学院学生会", UnitKind.COLLEGE_STUDENT_ORG, UnitDuty.NONE, "a"),
    "b": ("me", "机械学院", UnitKind.COLLEGE, UnitDuty.NONE, "school"),
}

# key: (account name, platform code, account type, status, account id). No name is a part of
# another, so a page that lists one cannot be mistaken for a page that lists another.
ACCOUNTS: dict[str, tuple[str, str, str, str, str]] = {
    "school": ("学校官方微信", "wechat", "服务号", AccountStatus.ACTIVE, "gh_school01"),
    "propaganda": ("宣传部新闻号", "weibo", "", AccountStatus.ACTIVE, "xcb_news"),
    "league": ("青春校团委", "bilibili", "", AccountStatus.APPROVED, ""),
    "school_org": ("校学生会抖音", "douyin", "", AccountStatus.ACTIVE, "dy_su01"),
    "a": ("计算机学院官微", "wechat", "订阅号", AccountStatus.ACTIVE, "gh_cs01"),
    "a_sub": ("实验中心动态", "weibo", "", AccountStatus.APPROVED, ""),
    "a_org": ("计科学生会", "douyin", "", AccountStatus.SUSPENDED, "dy_cssu"),
    "b": ("机械学院官微", "wechat", "订阅号", AccountStatus.ACTIVE, "gh_me01"),
}

# login: (unit key, role, person name)
LOGINS: dict[str, tuple[str, str, str]] = {
    "sec_a": ("a", Role.SECRETARY, "赵秘书"),
    "head_a": ("a", Role.HEAD, "钱书记"),
    "sec_b": ("b", Role.SECRETARY, "孙秘书"),
    "propaganda": ("propaganda", Role.PROPAGANDA_REVIEWER, "李审核"),
    "league": ("league", Role.LEAGUE_APPROVER, "周团委"),
    "auditor": ("school", Role.AUDITOR, "吴审计"),
}


@dataclass
class World:
    units: dict[str, Unit] = field(default_factory=dict)
    accounts: dict[str, MediaAccount] = field(default_factory=dict)
    # The administrator (mobile and e-mail set) and the supervising leader of each account.
    admins: dict[str, Person] = field(default_factory=dict)
    supervisors: dict[str, Person] = field(default_factory=dict)
    # The person behind each login.
    people: dict[str, Person] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def account_names(self, *keys: str) -> set[str]:
        return {self.accounts[key].name for key in keys}


_mobiles = itertools.count(1000)


def next_mobile() -> str:
    """A valid, unique mobile number (13800138xxx)."""
    return f"1380013{next(_mobiles) % 10000:04d}"


def make_login(username: str, *, must_change_password: bool = False, **fields) -> User:
    """A user that can log in with ``PASSWORD``; no service exists for users themselves."""
    return User.objects.create_user(
        username=username,
        password=PASSWORD,
        must_change_password=must_change_password,
        **fields,
    )


def make_account(
    *,
    unit: Unit,
    name: str,
    platform: str = "wechat",
    account_type: str = "",
    status: str = AccountStatus.APPROVED,
    account_id: str = "",
) -> MediaAccount:
    return services.account_create(
        actor=None,
        source=SOURCE,
        name=name,
        platform=Platform.objects.get(code=platform),
        account_type=account_type,
        owner_unit=unit,
        status=status,
        account_id=account_id,
    )


def build_world() -> World:
    """The personas of STYLE.md rule 8, built through the services as the application would."""
    world = World()
    for key, (code, name, kind, duty, parent) in UNITS.items():
        world.units[key] = services.unit_create(
            actor=None,
            code=code,
            name=name,
            kind=kind,
            duty=duty,
            parent=world.units[parent] if parent else None,
        )

    for username, (unit_key, role, person_name) in LOGINS.items():
        user = make_login(username)
        extra = {"id_number": ID_NUMBER, "title": "党委书记"} if username == "head_a" else {}
        person = services.person_create(
            actor=None, name=person_name, unit=world.units[unit_key], user=user, **extra
        )
        services.role_assign(person=person, unit=world.units[unit_key], role=role, actor=None)
        world.users[username] = user
        world.people[username] = person

    for key, (name, platform, account_type, status, account_id) in ACCOUNTS.items():
        unit = world.units[key]
        account = make_account(
            unit=unit,
            name=name,
            platform=platform,
            account_type=account_type,
            status=status,
            account_id=account_id,
        )
        supervisor = (
            world.people["head_a"]
            if key == "a"
            else services.person_create(actor=None, name=f"{unit.name}分管领导", unit=unit)
        )
        admin = services.person_create(
            actor=None,
            name=f"{unit.name}管理员",
            unit=unit,
            mobile=next_mobile(),
            email=f"admin.{unit.code}@example.edu.cn",
            office_phone="010-62751234",
        )
        for person, role in ((supervisor, TeamRole.SUPERVISOR), (admin, TeamRole.ADMINISTRATOR)):
            services.team_member_add(
                account=account, person=person, role=role, actor=None, source=SOURCE
            )
        world.accounts[key] = account
        world.supervisors[key] = supervisor
        world.admins[key] = admin
    return world


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise warns once per handler that var/static/ (collectstatic's output) is missing.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


@pytest.fixture(autouse=True)
def _fast_hasher(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path) -> Iterator[None]:
    """Uploads of a test go to its own directory, never to var/private/."""
    from django.utils.functional import empty

    from approvals.storage import private_storage

    settings.CAMPUSMEDIA_PRIVATE_ROOT = tmp_path / "private"
    private_storage._wrapped = empty
    yield
    private_storage._wrapped = empty


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db, _fast_hasher) -> World:
    return build_world()


@pytest.fixture
def client_for() -> Callable[[User | None], Client]:
    """``client_for(user)``: a test client logged in as ``user`` (anonymous for None)."""

    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user, backend=MODEL_BACKEND)
        return client

    return make
