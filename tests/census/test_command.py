"""``manage.py import_census``: the same services as the pages, errors printed per row, a
non-zero exit status and nothing written when anything is wrong."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from campusmedia.models import AuditEvent, MediaAccount, Person
from campusmedia.models.audit import AuditAction, AuditOutcome
from census.choices import JobStatus
from census.models import ImportJob
from tests.census.conftest import csv_bytes, good_row, xlsx_bytes


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_census", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_good_file_is_imported(world, tmp_path):
    path = tmp_path / "普查.xlsx"
    rows = [good_row(), good_row()]
    path.write_bytes(xlsx_bytes(rows))
    out, err = _run(str(path), "--actor", "propaganda")
    assert "已导入 2 个账号" in out and not err
    assert MediaAccount.objects.filter(account_id__in=[r["账号ID"] for r in rows]).count() == 2
    job = ImportJob.objects.get()
    assert (job.status, job.file_name, job.background) == (JobStatus.IMPORTED, "普查.xlsx", False)
    event = AuditEvent.objects.get(action=AuditAction.IMPORT)
    assert event.outcome == AuditOutcome.SUCCESS and event.actor == world.users["propaganda"]


def test_a_bad_file_prints_every_error_exits_non_zero_and_writes_nothing(world, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(
        csv_bytes([good_row(), good_row(**{"管理员1手机": "110"}), good_row(**{"平台": "?"})])
    )
    people = Person.objects.count()
    with pytest.raises(CommandError, match="未通过检查"):
        _run(str(path), "--actor", "propaganda")
    job = ImportJob.objects.get()
    assert job.status == JobStatus.FAILED
    assert not MediaAccount.objects.filter(account_id__startswith="gh_census").exists()
    assert Person.objects.count() == people


def test_errors_go_to_stderr_with_row_and_column(world, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([good_row(**{"管理员1手机": "110"})]))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_census", str(path), "--actor", "propaganda", stderr=err)
    assert "第 2 行「管理员1手机」：应为 11 位中国大陆手机号" in err.getvalue()


def test_the_exit_status_is_non_zero(world, tmp_path):
    """Run as a program, a bad file ends with status 1 (CommandError)."""
    from django.core.management import ManagementUtility

    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([good_row(**{"主办单位": "无"})]))
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(
            ["manage.py", "import_census", str(path), "--actor", "propaganda"]
        ).execute()
    assert exit_info.value.code == 1


def test_dry_run_checks_and_writes_nothing(world, tmp_path):
    path = tmp_path / "ok.xlsx"
    path.write_bytes(xlsx_bytes([good_row()]))
    out, _err = _run(str(path), "--actor", "propaganda", "--dry-run")
    assert "1 行全部正确" in out and "试运行" in out
    assert not MediaAccount.objects.filter(account_id__startswith="gh_census").exists()
    assert ImportJob.objects.get().status == JobStatus.CHECKED
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORT).exists()


@pytest.mark.parametrize("actor", ["sec_a", "auditor", "nobody"])
def test_only_a_department_user_may_import(world, tmp_path, actor):
    path = tmp_path / "ok.xlsx"
    path.write_bytes(xlsx_bytes([good_row()]))
    with pytest.raises(CommandError):
        _run(str(path), "--actor", actor)
    assert not ImportJob.objects.exists()


def test_a_missing_file(world, tmp_path):
    with pytest.raises(CommandError, match="没有这个文件"):
        _run(str(tmp_path / "nope.xlsx"), "--actor", "propaganda")
