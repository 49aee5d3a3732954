"""The alliance on top of the shared personas (tests/conftest.py).

Members by rule (active, tiers 1 and 2): 学校官方微信 [school], 宣传部新闻号 [propaganda],
计算机学院官微 [a], 机械学院官微 [b], and 计算机学院抖音 [a_douyin] added here, so that college
A's secretary ``sec_a`` answers for two member accounts. Not members: 青春校团委 (approved, not
opened), 校学生会抖音 [school_org] and 实验中心视频号 [a_sub_live] (tier 3, active, never
applied), 计科学生会 (tier 3, suspended).

``admin_a`` is a login for the administrator of 计算机学院官微 (a person with no unit role).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from alliance import services
from alliance.models import Notice, Task
from campusmedia.choices import AccountStatus
from campusmedia.models import MediaAccount, User
from tests.conftest import World, make_account, make_login


@dataclass
class Alliance:
    world: World
    a_douyin: MediaAccount
    a_sub_live: MediaAccount
    admin_a: User

    @property
    def users(self) -> dict[str, User]:
        return {**self.world.users, "admin_a": self.admin_a}

    @property
    def accounts(self) -> dict[str, MediaAccount]:
        return {
            **self.world.accounts,
            "a_douyin": self.a_douyin,
            "a_sub_live": self.a_sub_live,
        }


@pytest.fixture
def alliance(world: World) -> Alliance:
    a_douyin = make_account(
        unit=world.units["a"],
        name="计算机学院抖音",
        platform="douyin",
        status=AccountStatus.ACTIVE,
        account_id="dy_cs01",
    )
    a_sub_live = make_account(
        unit=world.units["a_sub"],
        name="实验中心视频号",
        platform="wechat_channels",
        status=AccountStatus.ACTIVE,
        account_id="sph_cslab",
    )
    admin_a = make_login("admin_a")
    person = world.admins["a"]
    person.user = admin_a
    person.save(update_fields=["user"])
    return Alliance(world=world, a_douyin=a_douyin, a_sub_live=a_sub_live, admin_a=admin_a)


def soon(days: int = 3) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=days)


@pytest.fixture
def task(alliance: Alliance) -> Task:
    """A task to every member, posted by the department."""
    return services.task_post(
        actor=alliance.world.users["propaganda"],
        title="转发：开学典礼直播",
        link="https://mp.weixin.qq.com/s/opening-ceremony",
        instructions="请于今晚前转发，并在评论区置顶。",
        due_at=soon(),
        source_account=alliance.world.accounts["school"],
    )


@pytest.fixture
def notice(alliance: Alliance) -> Notice:
    return services.notice_post(
        actor=alliance.world.users["propaganda"],
        title="关于加强新媒体内容审核的通知",
        body="各单位：请严格执行三审三校制度。",
    )
