"""The census import through its services: what a good file writes, what a bad file does not,
the errors the preview lists, people reused instead of duplicated, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.models import AccountHistory, AuditEvent, MediaAccount, Person, TeamMember
from campusmedia.models.audit import AuditAction, AuditOutcome
from census import services
from census.choices import JobStatus
from census.models import ImportJob
from tests.census.conftest import csv_bytes, good_row, xlsx_bytes


def _counts() -> tuple[int, int, int, int]:
    return (
        MediaAccount.objects.count(),
        Person.objects.count(),
        TeamMember.objects.count(),
        AccountHistory.objects.count(),
    )


def _imports() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.IMPORT).order_by("id"))


def test_a_good_file_imports_accounts_teams_people_and_history(world, upload, committed):
    propaganda = world.users["propaganda"]
    rows = [
        good_row(**{"管理员2姓名": "第二管理员", "管理员2手机": "+86 136-0013-6000"}),
        good_row(**{"主办单位": "计算机学院学生会", "平台": "douyin", "账号类型": ""}),
    ]
    before = _counts()
    job = upload(xlsx_bytes(rows))
    assert job.status == JobStatus.CHECKED, (job.message, job.errors)
    assert _counts() == before, "the check writes nothing"
    assert not _imports(), "a check that passes is not an import yet"
    stored = [job.file.path, job.staged.path]

    with committed():
        job = services.job_confirm(job=job, actor=propaganda)

    assert job.status == JobStatus.IMPORTED
    assert (job.created_count, job.total_rows) == (2, 2)
    first = MediaAccount.objects.get(account_id=rows[0]["账号ID"])
    assert first.status == AccountStatus.ACTIVE
    assert first.owner_unit == world.units["a"]
    assert (first.platform.code, first.account_type) == ("wechat", "订阅号")
    assert first.content_categories == ["news", "policy"]
    assert first.content_forms == ["text", "image"]
    assert str(first.opened_on) == "2019-09-01"
    assert (first.verification, first.follower_count, first.operator_count) == ("yes", 1200, 3)
    assert first.url == "https://mp.weixin.qq.com/cs"
    second = MediaAccount.objects.get(account_id=rows[1]["账号ID"])
    assert (second.owner_unit, second.platform.code) == (world.units["a_org"], "douyin")

    team = {(m.role, m.person.name) for m in first.team.select_related("person")}
    assert team == {
        (TeamRole.SUPERVISOR, "孔院长"),
        (TeamRole.ADMINISTRATOR, rows[0]["管理员1姓名"]),
        (TeamRole.ADMINISTRATOR, "第二管理员"),
    }
    admin = Person.objects.get(name=rows[0]["管理员1姓名"])
    assert admin.unit == world.units["a"]
    assert admin.mobile == rows[0]["管理员1手机"]
    assert admin.email == rows[0]["管理员1电子邮箱"]
    assert admin.wechat_id == rows[0]["管理员1微信号"]
    assert Person.objects.get(name="第二管理员").mobile == "13600136000"  # normalised
    with connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT mobile, email FROM campusmedia_person WHERE id = %s", [admin.pk])
        stored_mobile, stored_email = cursor.fetchone()
    assert rows[0]["管理员1手机"] not in stored_mobile and stored_mobile
    assert "@" not in stored_email and stored_email

    history = list(first.history.all())
    assert len(history) == 1
    created = history[0]
    assert created.action == AccountHistory.Action.CREATED
    assert created.source == f"普查导入 #{job.pk}"
    assert created.actor == propaganda and created.actor_name
    assert created.changes["name"] == {"label": "账号名称（昵称）", "old": "", "new": first.name}
    assert created.changes["owner_unit"]["new"] == "计算机学院"
    assert created.changes["status"]["new"] == "运行中"
    assert created.changes["supervisor"]["new"] == "孔院长"
    assert created.changes["administrator"]["new"] == f"{rows[0]['管理员1姓名']}、第二管理员"

    (event,) = _imports()
    assert event.outcome == AuditOutcome.SUCCESS
    assert event.actor == propaganda
    assert event.object_id == str(job.pk)
    assert event.detail["file"] == "census.xlsx"
    assert (event.detail["rows"], event.detail["accounts"]) == (2, 2)
    # The stored file and the staged rows held personal data: gone once imported.
    job.refresh_from_db()
    assert not job.file and not job.staged
    assert not any(Path(path).exists() for path in stored)


def test_the_history_row_matches_what_account_create_writes(world, upload):
    """Same ``changes`` format as the page's service for the same values."""
    row = good_row()
    job = services.job_confirm(job=upload(xlsx_bytes([row])), actor=world.users["propaganda"])
    imported = MediaAccount.objects.get(account_id=row["账号ID"])
    from campusmedia import services as registry

    fields = {
        name: getattr(imported, name)
        for name in (
            "status",
            "owner_unit",
            "name",
            "platform",
            "account_type",
            "account_id",
            "content_categories",
            "content_forms",
            "function_description",
            "opened_on",
            "verification",
            "verification_note",
            "follower_count",
            "operator_count",
            "url",
        )
    }
    fields["account_id"] = "another-id"
    page = registry.account_create(actor=world.users["propaganda"], source="x", **fields)
    expected = page.history.get().changes
    expected["account_id"]["new"] = row["账号ID"]
    got = imported.history.get().changes
    team = {key: got.pop(key) for key in ("supervisor", "administrator")}
    assert got == expected
    assert team["supervisor"] == {"label": "主要负责人（分管领导）", "old": "", "new": "孔院长"}
    assert job.status == JobStatus.IMPORTED


def test_people_are_reused_not_duplicated(world, upload):
    """The same unit, name and mobile is one person: an existing one, or one new one for all
    the rows that name them."""
    existing = world.admins["a"]  # 计算机学院管理员, with a mobile
    rows = [
        good_row(**{"管理员1姓名": existing.name, "管理员1手机": existing.mobile}),
        good_row(**{"管理员1姓名": existing.name, "管理员1手机": existing.mobile}),
        good_row(),
    ]
    people_before = Person.objects.count()
    job = services.job_confirm(job=upload(xlsx_bytes(rows)), actor=world.users["propaganda"])
    assert job.status == JobStatus.IMPORTED
    # 孔院长 once for the three rows, the third row's administrator: two new people.
    assert Person.objects.count() == people_before + 2
    assert Person.objects.filter(name="孔院长").count() == 1
    assert (job.persons_created, job.persons_reused, job.team_count) == (2, 1, 6)
    for row in rows[:2]:
        account = MediaAccount.objects.get(account_id=row["账号ID"])
        assert account.team.filter(role=TeamRole.ADMINISTRATOR, person=existing).exists()


def test_same_name_in_another_unit_or_with_another_mobile_is_another_person(world, upload):
    existing = world.admins["a"]
    rows = [
        good_row(**{"管理员1姓名": existing.name, "管理员1手机": "13712345678"}),
        good_row(
            **{"主办单位": "me", "管理员1姓名": existing.name, "管理员1手机": existing.mobile}
        ),
    ]
    before = Person.objects.filter(name=existing.name).count()
    job = services.job_confirm(job=upload(xlsx_bytes(rows)), actor=world.users["propaganda"])
    assert job.status == JobStatus.IMPORTED
    assert Person.objects.filter(name=existing.name).count() == before + 2


def test_a_file_with_bad_rows_writes_nothing_and_names_every_bad_row(world, upload):
    rows = [
        good_row(),
        good_row(**{"管理员1手机": "12345"}),  # row 3
        good_row(**{"主要负责人办公电话": "6275-1234"}),  # row 4
        good_row(**{"管理员1电子邮箱": "not-an-email"}),  # row 5
        good_row(**{"平台": "脸书"}),  # row 6
        good_row(**{"内容类别": "新闻发布、八卦"}),  # row 7
        good_row(**{"开通日期": "2019-13-45"}),  # row 8
        good_row(**{"账号ID": ""}),  # row 9
        good_row(**{"账号类型": "服务号呀"}),  # row 10
        good_row(**{"粉丝量": "很多"}),  # row 11
        good_row(**{"管理员2姓名": "只有姓名"}),  # row 12: the mobile is missing
        good_row(**{"认证情况": "大概"}),  # row 13
    ]
    before = _counts()
    job = upload(xlsx_bytes(rows))
    assert job.status == JobStatus.FAILED
    assert _counts() == before
    found = {(e["row"], e["column"]) for e in job.errors}
    assert found == {
        (3, "管理员1手机"),
        (4, "主要负责人办公电话"),
        (5, "管理员1电子邮箱"),
        (6, "平台"),
        (7, "内容类别"),
        (8, "开通日期"),
        (9, "账号ID"),
        (10, "账号类型"),
        (11, "粉丝量"),
        (12, "管理员2手机"),
        (13, "认证情况"),
    }
    assert job.error_count == 11
    messages = {(e["row"]): e["message"] for e in job.errors}
    assert "11 位" in messages[3]
    assert "固定电话" in messages[4]
    assert "电子邮箱" in messages[5]
    assert "脸书" not in messages[6] and "微信公众号" in messages[6]
    assert "八卦" in messages[7]
    assert messages[9] == "必填，不能为空。"
    assert "服务号、订阅号" in messages[10]
    assert messages[12] == "必填，不能为空。"
    # The column's label is not repeated in front of the message.
    assert not messages[10].startswith("账号类型")
    # Nothing of the file is kept for an import that cannot happen.
    assert not job.file and not job.staged
    (event,) = _imports()
    assert event.outcome == AuditOutcome.FAILURE
    assert event.detail["errors"] == 11 and event.detail["stage"] == "check"
    with pytest.raises(ValidationError):
        services.job_confirm(job=job, actor=world.users["propaganda"])
    assert _counts() == before


def test_duplicates_inside_the_file_and_against_the_registry(world, upload):
    rows = [
        good_row(**{"账号ID": "gh_twice"}),
        good_row(**{"账号ID": "gh_twice"}),  # row 3 repeats row 2
        good_row(**{"账号ID": world.accounts["a"].account_id}),  # row 4: already registered
        good_row(**{"账号ID": "gh_twice", "平台": "微博", "账号类型": ""}),  # another platform
    ]
    job = upload(xlsx_bytes(rows))
    assert job.status == JobStatus.FAILED
    errors = {(e["row"], e["column"]): e["message"] for e in job.errors}
    assert set(errors) == {(3, "账号ID"), (4, "账号ID")}
    assert "第 2 行" in errors[(3, "账号ID")]
    assert "已登记" in errors[(4, "账号ID")]


def test_duplicates_far_apart_in_a_long_file_are_found(world, upload, monkeypatch):
    """Rows are checked in chunks; a repeat in another chunk is found after the pass."""
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    rows = [good_row(**{"账号ID": "gh_far"})] + [good_row() for _ in range(3)]
    rows.append(good_row(**{"账号ID": "gh_far"}))  # row 6, three chunks later
    job = upload(csv_bytes(rows), name="far.csv")
    assert [(e["row"], e["column"]) for e in job.errors] == [(6, "账号ID")]
    assert "第 2 行" in job.errors[0]["message"]


def test_unknown_or_ambiguous_unit(world, upload):
    from campusmedia import services as registry
    from campusmedia.choices import UnitKind

    registry.unit_create(
        actor=None,
        code="cs2",
        name="计算机学院",
        kind=UnitKind.COLLEGE,
        parent=world.units["school"],
    )
    rows = [good_row(**{"主办单位": "不存在学院"}), good_row(**{"主办单位": "计算机学院"})]
    job = upload(xlsx_bytes(rows))
    errors = {e["row"]: e for e in job.errors}
    assert errors[2]["column"] == "主办单位" and "没有这个单位" in errors[2]["message"]
    assert errors[3]["column"] == "主办单位" and "单位代码" in errors[3]["message"]
    assert MediaAccount.objects.filter(account_id__startswith="gh_census").count() == 0


def test_a_unit_by_name_and_case_insensitive_codes_are_accepted(world, upload):
    rows = [good_row(**{"主办单位": "机械学院"}), good_row(**{"主办单位": "CS", "平台": "WeChat"})]
    job = services.job_confirm(job=upload(xlsx_bytes(rows)), actor=world.users["propaganda"])
    assert job.status == JobStatus.IMPORTED
    owners = set(
        MediaAccount.objects.filter(account_id__in=[r["账号ID"] for r in rows]).values_list(
            "owner_unit__code", flat=True
        )
    )
    assert owners == {"me", "cs"}


def test_the_same_person_twice_in_one_role_of_one_account_is_an_error(world, upload):
    row = good_row(
        **{"管理员2姓名": "同一人", "管理员1姓名": "同一人", "管理员2手机": "13700137000"}
    )
    row["管理员1手机"] = "13700137000"
    job = upload(xlsx_bytes([row]))
    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "管理员2姓名")]
    assert "管理员1" in job.errors[0]["message"]


def test_a_utf8_csv_imports_like_an_xlsx(world, upload):
    rows = [good_row(), good_row()]
    job = services.job_confirm(
        job=upload(csv_bytes(rows), name="census.csv"), actor=world.users["propaganda"]
    )
    assert job.status == JobStatus.IMPORTED and job.file_format == "csv"
    assert MediaAccount.objects.filter(account_id__in=[r["账号ID"] for r in rows]).count() == 2


def test_a_registry_change_after_the_check_cancels_the_whole_import(world, upload):
    """All or nothing: the second row became a duplicate between preview and confirm."""
    rows = [good_row(), good_row()]
    job = upload(xlsx_bytes(rows))
    assert job.status == JobStatus.CHECKED
    from campusmedia import services as registry
    from campusmedia.models import Platform

    registry.account_create(
        actor=None,
        source="页面",
        name="抢先登记",
        platform=Platform.objects.get(code="wechat"),
        owner_unit=world.units["a"],
        status=AccountStatus.ACTIVE,
        account_id=rows[1]["账号ID"],
    )
    before = _counts()
    job = services.job_confirm(job=job, actor=world.users["propaganda"])
    assert job.status == JobStatus.FAILED
    assert _counts() == before, "the first row is not written either"
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "账号ID")]
    (event,) = _imports()
    assert event.outcome == AuditOutcome.FAILURE and event.detail["stage"] == "import"


def test_confirming_twice_imports_once(world, upload):
    job = upload(xlsx_bytes([good_row()]))
    first = services.job_confirm(job=job, actor=world.users["propaganda"])
    second = services.job_confirm(job=job, actor=world.users["propaganda"])
    assert first.status == second.status == JobStatus.IMPORTED
    assert MediaAccount.objects.filter(account_id__startswith="gh_census").count() == 1
    assert len(_imports()) == 1


@pytest.mark.parametrize("user", ["sec_a", "head_a", "auditor", "sec_b"])
def test_only_the_department_may_upload_or_confirm(world, upload, user):
    with pytest.raises(PermissionDenied):
        upload(xlsx_bytes([good_row()]), user=user)
    job = upload(xlsx_bytes([good_row()]))
    with pytest.raises(PermissionDenied):
        services.job_confirm(job=job, actor=world.users[user])
    assert ImportJob.objects.get().status == JobStatus.CHECKED


def test_dates_numbers_and_yes_no_as_spreadsheet_cells(world, upload):
    import datetime

    row = good_row(
        **{
            "开通日期": datetime.date(2018, 3, 5),
            "粉丝量": 4321.0,
            "管理员1手机": 13800138123,
            "管理员1是否学生": "是",
            "账号ID": 987654321,
        }
    )
    job = services.job_confirm(job=upload(xlsx_bytes([row])), actor=world.users["propaganda"])
    assert job.status == JobStatus.IMPORTED, job.errors
    account = MediaAccount.objects.get(account_id="987654321")
    assert (str(account.opened_on), account.follower_count) == ("2018-03-05", 4321)
    admin = account.team.get(role=TeamRole.ADMINISTRATOR).person
    assert (admin.mobile, admin.is_student) == ("13800138123", True)


def test_the_preview_sample_masks_mobiles(world, upload):
    row = good_row()
    job = upload(xlsx_bytes([row]))
    (sample,) = job.sample
    assert sample["line"] == 2 and sample["unit"] == "计算机学院"
    mobiles = [member["mobile"] for member in sample["team"]]
    assert "139****9000" in mobiles
    assert row["管理员1手机"] not in str(job.sample)


def test_errors_are_capped_on_the_job_and_counted_in_full(world, upload, monkeypatch):
    monkeypatch.setattr(services, "ERROR_CAP", 3)
    rows = [good_row(**{"管理员1手机": "1"}) for _ in range(5)]
    job = upload(csv_bytes(rows), name="many.csv")
    assert [e["row"] for e in job.errors] == [2, 3, 4]
    assert job.error_count == 5 and job.more_errors == 2


def test_a_conflict_at_write_time_cancels_the_import(world, upload, monkeypatch):
    """Another import or page registering the same account at the same moment trips the unique
    constraint while writing: the import is cancelled as a whole with a clear message."""
    from django.db import IntegrityError

    job = upload(xlsx_bytes([good_row(), good_row()]))
    real = services.accounts_import
    calls = []

    def racing(**kwargs):
        calls.append(kwargs.get("dry_run", False))
        real(**kwargs)  # writes the chunk, then the database refuses a duplicate
        raise IntegrityError("UNIQUE constraint failed: account_unique_platform_id")

    monkeypatch.setattr(services, "accounts_import", racing)
    before = _counts()
    job = services.job_confirm(job=job, actor=world.users["propaganda"])
    assert calls == [False]
    assert job.status == JobStatus.FAILED and "另一批导入或页面登记" in job.message
    assert _counts() == before, "the chunk written before the error is rolled back"
    (event,) = _imports()
    assert event.outcome == AuditOutcome.FAILURE
