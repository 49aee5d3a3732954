"""Helpers shared by the publication tests: the personal data that must never be published."""

from __future__ import annotations

import datetime

import pytest

from campusmedia import services
from tests.conftest import SOURCE, World


def personal_data(world: World) -> list[str]:
    """Names, mobiles and e-mail addresses of every account's team, and the logins' people."""
    values: list[str] = []
    for key in world.accounts:
        admin, supervisor = world.admins[key], world.supervisors[key]
        values += [admin.name, supervisor.name, admin.mobile, admin.email]
        values.append(admin.email.partition("@")[0])
    values += [person.name for person in world.people.values()]
    return [value for value in values if value]


def assert_no_personal_data(world: World, text: str) -> None:
    for value in personal_data(world):
        assert value not in text, value


@pytest.fixture
def numbered(world: World) -> World:
    """The active accounts with approval numbers, opening dates and a home page."""
    for i, key in enumerate(("school", "propaganda", "school_org", "a", "b"), start=1):
        world.accounts[key] = services.account_update(
            account=world.accounts[key],
            actor=None,
            source=SOURCE,
            approval_number=f"XCB-2024-{i:04d}",
            opened_on=datetime.date(2020, i, 1),
            url=f"https://example.com/{key}",
        )
    return world
