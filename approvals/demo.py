"""Requests of the demo university, so every inbox has something in it on first login.

Idempotent: nothing is added once any request exists. Everything goes through
``approvals.services`` with the demo logins as actors, so timelines and the audit log read as if
the steps had been taken by hand.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from approvals import services
from approvals.choices import RequestKind
from approvals.models import AccountRequest
from campusmedia.choices import AccountStatus, Role, TeamRole, UnitKind
from campusmedia.models import MediaAccount, Platform, RoleAssignment, Unit, User


def _user(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def _unit_of(user: User, role: str) -> Unit | None:
    assignment = (
        RoleAssignment.objects.active()
        .filter(person__user=user, role=role)
        .select_related("unit")
        .first()
    )
    return assignment.unit if assignment else None


def _team(prefix: str) -> list[dict[str, object]]:
    return [
        {"role": TeamRole.SUPERVISOR, "name": f"{prefix}分管领导", "title": "党委副书记"},
        {
            "role": TeamRole.ADMINISTRATOR,
            "name": f"{prefix}管理员",
            "mobile": "13904510000",
            "email": "newmedia@example.edu.cn",
            "wechat_id": "bc_newmedia",
        },
    ]


def seed_demo_requests() -> int:
    """Add the demo requests; returns how many were made (0 on a second run)."""
    if AccountRequest.objects.exists():
        return 0
    sec_cs, head_cs = _user("sec_cs"), _user("head_cs")
    if not (sec_cs and head_cs):
        return 0
    cs = _unit_of(sec_cs, Role.SECRETARY)
    if cs is None:
        return 0
    wechat = Platform.objects.get(code="wechat")
    douyin = Platform.objects.get(code="douyin")
    made = 0

    # Waiting for head_cs: a new WeChat account of the School of Computer Science.
    waiting = services.request_create(
        kind=RequestKind.OPEN,
        owner_unit=cs,
        actor=sec_cs,
        data={
            "name": f"{cs.short_name or cs.name}就业指导",
            "platform": wechat,
            "account_type": "订阅号",
            "content_categories": ["news", "convenience"],
            "content_forms": ["text", "image"],
            "function_description": "发布就业招聘信息、就业指导讲座与政策解读",
            "planned_opening_on": timezone.localdate() + datetime.timedelta(days=30),
            "operator_count": 3,
        },
        team=_team("就业"),
        reason="学院就业工作需要，拟开设就业指导公众号。",
    )
    services.request_submit(account_request=waiting, actor=sec_cs)
    made += 1

    # A draft the secretary is still working on.
    services.request_create(
        kind=RequestKind.OPEN,
        owner_unit=cs,
        actor=sec_cs,
        data={"name": f"{cs.short_name or cs.name}校友会", "platform": douyin},
        team=_team("校友"),
    )
    made += 1

    # Signed by head_cs, waiting for the propaganda department.
    endorsed = services.request_create(
        kind=RequestKind.OPEN,
        owner_unit=cs,
        actor=sec_cs,
        data={
            "name": f"{cs.short_name or cs.name}视频号",
            "platform": douyin,
            "content_categories": ["news"],
            "content_forms": ["video"],
            "function_description": "学院活动短视频",
        },
        team=_team("视频"),
    )
    services.request_submit(account_request=endorsed, actor=sec_cs)
    services.request_endorse(
        account_request=endorsed, actor=head_cs, comment="同意，请宣传部审批。"
    )
    made += 1

    # A college-level student organisation's request (tier 3: the college signs first).
    club = (
        Unit.objects.filter(kind=UnitKind.COLLEGE_STUDENT_ORG, parent=cs).order_by("name").first()
    )
    if club is not None:
        req = services.request_create(
            kind=RequestKind.OPEN,
            owner_unit=club,
            actor=sec_cs,
            data={"name": f"{club.name}B站", "platform": Platform.objects.get(code="bilibili")},
            team=_team("社团"),
        )
        services.request_submit(account_request=req, actor=sec_cs)
        made += 1

    # A team change of a CS account, recorded four days ago: overdue under the 3-day rule.
    account = (
        MediaAccount.objects.filter(owner_unit=cs, status=AccountStatus.ACTIVE)
        .order_by("name")
        .first()
    )
    if account is not None:
        member = account.team.current().filter(role=TeamRole.ADMINISTRATOR).first()
        if member is not None:
            services.team_change_record(
                member=member,
                actor=sec_cs,
                happened_on=timezone.localdate() - datetime.timedelta(days=4),
                note="学生管理员毕业离校",
            )
    return made
