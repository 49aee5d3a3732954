"""Request helpers on top of the shared personas (tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from approvals import services
from approvals.choices import RequestKind
from approvals.models import AccountRequest
from campusmedia import services as registry
from campusmedia.choices import Role, TeamRole
from campusmedia.models import Platform, Unit, User
from tests.conftest import World, make_login, next_mobile


def open_data(name: str = "计算机学院研究生会", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "platform": Platform.objects.get(code="wechat"),
        "account_type": "订阅号",
        "content_categories": ["news"],
        "content_forms": ["text", "image"],
        "function_description": "发布学院新闻与通知",
        "operator_count": 3,
        **extra,
    }


def new_team(prefix: str = "新") -> list[dict[str, Any]]:
    return [
        {"role": TeamRole.SUPERVISOR, "name": f"{prefix}分管领导", "office_phone": "010-62751000"},
        {
            "role": TeamRole.ADMINISTRATOR,
            "name": f"{prefix}管理员",
            "mobile": next_mobile(),
            "email": "new.admin@example.edu.cn",
            "wechat_id": "new_admin",
        },
    ]


def open_request(
    world: World, unit_key: str = "a", by: str = "sec_a", **data: Any
) -> AccountRequest:
    return services.request_create(
        kind=RequestKind.OPEN,
        owner_unit=world.units[unit_key],
        actor=world.users[by],
        data=open_data(**data),
        team=new_team(),
    )


@pytest.fixture
def propaganda_head(world: World) -> User:
    user = make_login("propaganda_head")
    person = registry.person_create(
        actor=None, name="王部长", unit=world.units["propaganda"], user=user
    )
    registry.role_assign(
        person=person, unit=world.units["propaganda"], role=Role.PROPAGANDA_HEAD, actor=None
    )
    return user


@pytest.fixture
def league_sec(world: World) -> User:
    """The secretary of the school-level student union (files its requests)."""
    user = make_login("sec_su")
    unit: Unit = world.units["school_org"]
    person = registry.person_create(actor=None, name="学生会秘书", unit=unit, user=user)
    registry.role_assign(person=person, unit=unit, role=Role.SECRETARY, actor=None)
    return user
