"""The alliance of the demo university: its charter, a task under way, a notice and a
pre-publication request, so every alliance page has something on first login.

Idempotent: nothing is added once a charter version exists. Everything goes through
``alliance.services`` with the demo logins as actors, so records and the audit log read as if
the steps had been taken by hand.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from alliance import selectors, services
from alliance.choices import PrepubTopic
from alliance.models import CharterVersion
from campusmedia.choices import UnitKind
from campusmedia.models import MediaAccount, User

CHARTER_TITLE = "北辰大学新媒体联盟章程"

CHARTER_BODY = "\n".join(
    [
        "第一章　总则",
        (
            "第一条　北辰大学新媒体联盟（以下简称“联盟”）由学校各单位、各学生组织依法开"
            "设并经党委宣传部审批或备案的微博、微信、抖音等新媒体平台组成。"
        ),
        (
            "第二条　联盟坚持正确政治方向和舆论导向，遵守国家法律法规和学校规章制度，按照"
            "“谁建设谁负责，谁主管谁负责”的原则开展工作。"
        ),
        "第三条　联盟秘书处设在党委宣传部，负责联盟的日常联络、统筹协调和考核评价。",
        "",
        "第二章　成员",
        (
            "第四条　学校一级平台和二级平台账号自动成为联盟成员；三级平台账号经所在单位同"
            "意后提出申请，由秘书处审核后加入。"
        ),
        (
            "第五条　联盟设理事单位和会员单位。学校官方账号为理事单位，其他成员为会员单位"
            "；秘书处可根据工作需要调整。"
        ),
        "第六条　成员账号停办、注销或被责令关闭的，自动退出联盟。",
        "",
        "第三章　互联互动",
        (
            "第七条　学校官方平台发布重要信息时，秘书处可向全体或部分成员发布转发任务，成"
            "员应在规定时限内完成转发并反馈链接；确有原因不能转发的，应说明理由。"
        ),
        (
            "第八条　成员应加强与学校官方平台的互联互动，形成信息共享、动态交流、联动反应"
            "的工作机制。"
        ),
        "",
        "第四章　信息发布",
        (
            "第九条　未经授权，成员不得擅自发布涉及学校的重大事件、突发事件和社会热点及敏"
            "感问题的相关内容。确需发布的，应报党委宣传部批准后发布，并做好发布内容备案。"
        ),
        "第十条　成员应及时阅读秘书处推送的政策通知，按要求落实。",
        "",
        "第五章　附则",
        "第十一条　本章程由联盟秘书处负责解释，自发布之日起施行。",
    ]
)


def _user(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def seed_demo_alliance() -> int:
    """Add the demo alliance; returns how many records were made (0 on a second run)."""
    if CharterVersion.objects.exists():
        return 0
    head, reviewer = _user("propaganda_head"), _user("propaganda")
    sec_cs, sec_me = _user("sec_cs"), _user("sec_me")
    if not (head and reviewer and sec_cs and sec_me):
        return 0
    today = timezone.localdate()
    made = 0
    services.charter_publish(
        actor=head,
        title=CHARTER_TITLE,
        body=CHARTER_BODY,
        effective_on=datetime.date(today.year, 1, 1),
        summary="联盟成立时的章程。",
    )
    made += 1

    flagship = (
        MediaAccount.objects.filter(owner_unit__kind=UnitKind.SCHOOL, platform__code="wechat")
        .filter(selectors.member_filter())
        .order_by("pk")
        .first()
    )
    task = services.task_post(
        actor=reviewer,
        title="转发：北辰大学招生宣传片",
        link="https://mp.weixin.qq.com/s/beichen-admissions",
        instructions="请各成员账号转发学校官方微信发布的招生宣传片，转发时可配本单位特色文字。",
        due_at=timezone.now() + datetime.timedelta(days=5),
        source_account=flagship,
    )
    made += 1
    for assignment in task.assignments.select_related("account").order_by("pk"):
        me = assignment.account.owner_unit.code.startswith("me")
        if me:
            services.assignment_answer(
                assignment=assignment,
                actor=sec_me,
                done=True,
                post_link=f"https://mp.weixin.qq.com/s/me-share-{assignment.pk}",
            )
            made += 1

    notice = services.notice_post(
        actor=reviewer,
        title="关于做好寒假期间新媒体平台值班和内容审核工作的通知",
        body=(
            "各单位、各新媒体平台管理员：\n\n"
            "寒假期间，请各单位落实新媒体平台值班制度，严格执行内容“三审三校”，"
            "涉及学校的重大事件、突发事件和敏感问题的内容须报党委宣传部批准后发布。\n\n"
            "请各管理员阅读后在系统中确认。"
        ),
    )
    services.notice_read(notice=notice, actor=sec_me)
    made += 1

    cs_account = (
        selectors.members()
        .filter(owner_unit__code__startswith="cs", platform__code="wechat")
        .order_by("pk")
        .first()
    )
    if cs_account is not None:
        services.prepub_submit(
            account=cs_account,
            actor=sec_cs,
            topic=PrepubTopic.MAJOR_EVENT,
            title="计算机学院获批国家级一流本科专业建设点",
            content="计算机学院计算机科学与技术专业获批国家级一流本科专业建设点。（正文略）",
            planned_at=timezone.now() + datetime.timedelta(days=2),
        )
        made += 1
    return made
