"""Benchmarks of the census import for ``manage.py bench`` (everything they write is undone).

* A census file of ``ROWS`` new accounts for the units of the bench data (xlsx written like the
  template: unit codes, platform names, a supervising leader per unit, one or two
  administrators per account).
* The baseline, measured in the same run: django-import-export's plain ``ModelResource`` for
  MediaAccount (default options: a look-up and a ``save()`` per row) importing the account
  columns of the same file, dry run and import, rolled back.
* Ours: the preview (upload, check: every row through the columns' widgets and
  ``accounts_import`` in dry-run mode) and the commit (confirm and import: accounts, persons,
  teams, history, one audit row), rolled back. Targets: preview and commit under 1 s each for
  3,000 rows, and the commit at least 8 times faster than the baseline's import.
* ``measure_large``: a file of 150,000 rows checked and imported by the background tasks (the
  database backend's worker), under 60 s, with Python's allocation peak measured per 10,000
  rows at three file sizes to show memory does not grow with the rows; the accounts it created
  are deleted afterwards.
"""

from __future__ import annotations

import csv
import gc
import io
import itertools
import os
import random
import threading
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone
from import_export import fields, resources, widgets

from campusmedia.choices import Role, UnitKind
from campusmedia.models import AccountHistory, MediaAccount, Person, Platform, TeamMember, Unit
from census import services
from census.choices import JobStatus
from census.models import ImportJob
from census.resources import CensusResource

ROWS = 3000
TARGET_PREVIEW_S = 1.0
TARGET_COMMIT_S = 1.0
TARGET_RATIO = 8.0
TARGET_LARGE_S = 60.0
PREFIX = "bench-census-"


class _Rollback(Exception):
    pass


def _text() -> widgets.CharWidget:
    return widgets.CharWidget(allow_blank=True)


class BaselineResource(resources.ModelResource):
    """A plain ModelResource for MediaAccount over the census file's account columns."""

    owner_unit = fields.Field(
        attribute="owner_unit",
        column_name="主办单位",
        widget=widgets.ForeignKeyWidget(Unit, field="code"),
    )
    platform = fields.Field(
        attribute="platform",
        column_name="平台",
        widget=widgets.ForeignKeyWidget(Platform, field="name"),
    )
    name = fields.Field(attribute="name", column_name="账号名称（昵称）", widget=_text())
    account_type = fields.Field(attribute="account_type", column_name="账号类型", widget=_text())
    account_id = fields.Field(attribute="account_id", column_name="账号ID", widget=_text())
    function_description = fields.Field(
        attribute="function_description", column_name="功能定位", widget=_text()
    )
    opened_on = fields.Field(
        attribute="opened_on", column_name="开通日期", widget=widgets.DateWidget()
    )
    follower_count = fields.Field(
        attribute="follower_count", column_name="粉丝量", widget=widgets.IntegerWidget()
    )
    operator_count = fields.Field(
        attribute="operator_count", column_name="运营人数", widget=widgets.IntegerWidget()
    )
    url = fields.Field(attribute="url", column_name="主页链接", widget=_text())

    class Meta:
        model = MediaAccount
        fields = (
            "owner_unit",
            "platform",
            "name",
            "account_type",
            "account_id",
            "function_description",
            "opened_on",
            "follower_count",
            "operator_count",
            "url",
        )
        import_id_fields = ("platform", "account_id")


# --- The file -------------------------------------------------------------------------------


def census_rows(count: int, *, seed: int = 2026, tag: str = "") -> Iterator[list[Any]]:
    """``count`` rows of new accounts for the bench units, in the template's column order."""
    rng = random.Random(seed)
    units = list(
        Unit.objects.filter(is_active=True)
        .exclude(kind=UnitKind.SCHOOL)
        .order_by("pk")
        .values_list("code", flat=True)
    )
    if not units:
        raise SystemExit("the bench data has no units")
    platforms = list(Platform.objects.order_by("sort_order"))
    labels = [column.column_name for column in CensusResource().columns]
    width = len(labels)
    position = {label: index for index, label in enumerate(labels)}
    for n in range(count):
        code = units[n % len(units)]
        unit_no = n % len(units)
        platform = platforms[n % len(platforms)]
        row: list[Any] = [None] * width

        def put(label: str, value: Any, row: list[Any] = row) -> None:
            row[position[label]] = value

        put("主办单位", code)
        put("账号名称（昵称）", f"普查{tag}账号{n:06d}")
        put("平台", platform.name)
        if platform.account_types:
            put("账号类型", platform.account_types[n % len(platform.account_types)])
        put("账号ID", f"{PREFIX}{tag}{n:06d}")
        put("内容类别", "新闻发布、政策法规")
        put("内容形式", "文字、图片")
        put("功能定位", f"发布{code}的新闻与通知")
        put("开通日期", f"20{10 + n % 15}-0{1 + n % 9}-1{n % 9}")
        put("认证情况", "已认证" if n % 3 else "未认证")
        put("粉丝量", rng.randint(0, 200000))
        put("运营人数", 1 + n % 6)
        put("主页链接", f"https://example.edu.cn/{tag}{n}")
        # One supervising leader per unit, as on real forms; administrators are new people.
        put("主要负责人姓名", f"负责人{unit_no:03d}")
        put("主要负责人办公电话", f"0543-31{unit_no:05d}")
        put("主要负责人手机", f"139{unit_no:08d}")
        put("管理员1姓名", f"管理员{tag}{n:06d}")
        put("管理员1手机", f"13{5 + n % 4}{n % 100000000:08d}")
        put("管理员1电子邮箱", f"admin{tag}{n}@example.edu.cn")
        put("管理员1微信号", f"wx{tag}{n}")
        put("管理员1是否学生", "是" if n % 4 == 0 else "否")
        if n % 2:
            put("管理员2姓名", f"副管理员{tag}{n:06d}")
            put("管理员2手机", f"15{n % 10}{n % 100000000:08d}")
        yield row


def census_xlsx(count: int, **kwargs: Any) -> bytes:
    """The rows as an xlsx file laid out as Excel writes one: text in the shared strings table,
    the sheet's size in its ``dimension``. Written directly (openpyxl's writer takes half a
    minute for 150,000 rows); openpyxl, tablib and the census reader all read it."""
    labels = [column.column_name for column in CensusResource().columns]
    strings: dict[str, int] = {}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            last = _column_letters(len(labels) - 1)
            sheet.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
                f'xmlns="{_MAIN}"><dimension ref="A1:{last}{count + 1}"/><sheetData>'.encode()
            )
            rows = itertools.chain([labels], census_rows(count, **kwargs))
            for number, row in enumerate(rows, start=1):
                cells = []
                for index, value in enumerate(row):
                    if value is None:
                        continue
                    ref = f"{_column_letters(index)}{number}"
                    if isinstance(value, int):
                        cells.append(f'<c r="{ref}"><v>{value}</v></c>')
                    else:
                        position = strings.setdefault(value, len(strings))
                        cells.append(f'<c r="{ref}" t="s"><v>{position}</v></c>')
                sheet.write(f'<row r="{number}">{"".join(cells)}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        with archive.open("xl/sharedStrings.xml", "w") as shared:
            shared.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_MAIN}" '
                f'count="{len(strings)}" uniqueCount="{len(strings)}">'.encode()
            )
            for text in strings:
                shared.write(f"<si><t>{xml_escape(text)}</t></si>".encode())
            shared.write(b"</sst>")
    return out.getvalue()


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{_SHEET}.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        f'ContentType="{_SHEET}.sharedStrings+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_SHEET}.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="普查登记" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<styleSheet xmlns="{_MAIN}"><fonts count="1"><font><sz val="11"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        '</cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
        'borderId="0" xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" '
        'xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    ),
}


def census_csv(count: int, **kwargs: Any) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.column_name for column in CensusResource().columns])
    for row in census_rows(count, **kwargs):
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue().encode("utf-8")


# --- Measures -------------------------------------------------------------------------------


def _department_user() -> Any:
    from django.contrib.auth import get_user_model

    user = (
        get_user_model()
        .objects.filter(person__role_assignments__role=Role.PROPAGANDA_REVIEWER)
        .first()
    )
    if user is None:
        raise SystemExit("the bench data lacks a propaganda reviewer")
    return user


def _seconds(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def _baseline(data: bytes) -> dict[str, float]:
    import tablib

    def load() -> Any:
        return tablib.Dataset().load(io.BytesIO(data), format="xlsx")

    figures: dict[str, float] = {}
    try:
        with transaction.atomic():
            seconds, result = _seconds(lambda: BaselineResource().import_data(load(), dry_run=True))
            if result.has_errors() or result.has_validation_errors():
                raise SystemExit("the baseline resource refused the bench file")
            figures["dry_run_s"] = seconds
            seconds, result = _seconds(lambda: BaselineResource().import_data(load()))
            figures["import_s"] = seconds
            figures["created"] = result.totals["new"]
            raise _Rollback
    except _Rollback:
        pass
    return figures


def _ours(data: bytes, user: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    jobs: list[ImportJob] = []
    try:
        with transaction.atomic():
            seconds, job = _seconds(
                lambda: services.job_create(
                    actor=user,
                    upload=SimpleUploadedFile("bench.xlsx", data),
                    file_name="bench.xlsx",
                    run_now=True,
                )
            )
            jobs.append(job)
            if job.status != JobStatus.CHECKED:
                raise SystemExit(f"bench file refused: {job.message} {job.errors[:3]}")
            figures["preview_s"] = seconds
            seconds, job = _seconds(lambda: services.job_confirm(job=job, actor=user))
            if job.status != JobStatus.IMPORTED:
                raise SystemExit(f"bench import failed: {job.message} {job.errors[:3]}")
            figures["commit_s"] = seconds
            figures["created"] = job.created_count
            figures["persons_created"] = job.persons_created
            figures["team_members"] = job.team_count
            raise _Rollback
    except _Rollback:
        pass
    for job in jobs:  # the rollback kept the files the job would have removed after commit
        services._delete_files(job)
    return figures


def measure(repeat: int) -> dict[str, Any]:
    user = _department_user()
    data = census_xlsx(ROWS)
    baseline = _baseline(data)
    runs = [_ours(data, user) for _ in range(max(1, min(repeat, 3)))]
    best = {
        "preview_s": min(run["preview_s"] for run in runs),
        "commit_s": min(run["commit_s"] for run in runs),
    }
    figures: dict[str, Any] = {
        "rows": ROWS,
        "vendor": connection.vendor,
        "file_bytes": len(data),
        "baseline_dry_run_s": round(baseline["dry_run_s"], 3),
        "baseline_import_s": round(baseline["import_s"], 3),
        "preview_s": round(best["preview_s"], 3),
        "commit_s": round(best["commit_s"], 3),
        "created": runs[0]["created"],
        "persons_created": runs[0]["persons_created"],
        "team_members": runs[0]["team_members"],
    }
    figures["ratio_import"] = round(baseline["import_s"] / best["commit_s"], 1)
    figures["ratio_total"] = round(
        (baseline["dry_run_s"] + baseline["import_s"]) / (best["preview_s"] + best["commit_s"]), 1
    )
    return figures


def print_figures(write: Callable[[str], Any], figures: dict[str, Any]) -> None:
    if not figures:
        return
    f = figures
    write(
        f"\nCensus import of {f['rows']} new accounts ({f['vendor']}, xlsx "
        f"{f['file_bytes'] / 1024:.0f} KB; {f['persons_created']} persons and "
        f"{f['team_members']} team members created)"
    )
    write(
        f"  plain ModelResource (accounts only): dry run {f['baseline_dry_run_s']:.2f} s, "
        f"import {f['baseline_import_s']:.2f} s"
    )
    write(
        f"  ours: preview {f['preview_s']:.2f} s (target < {TARGET_PREVIEW_S:g}), "
        f"commit {f['commit_s']:.2f} s (target < {TARGET_COMMIT_S:g})"
    )
    write(
        f"  commit vs baseline import: {f['ratio_import']:.1f}× faster (target ≥ "
        f"{TARGET_RATIO:g}×); preview + commit vs dry run + import: {f['ratio_total']:.1f}×"
    )


def _rss_mb() -> float:
    """The process's resident memory now, in MB (Linux)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


class _RssSampler(threading.Thread):
    """The highest resident memory seen while a job runs, sampled five times a second."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.start_mb = _rss_mb()
        self.peak_mb = self.start_mb
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.peak_mb = max(self.peak_mb, _rss_mb())

    def stop(self) -> float:
        self.done.set()
        self.join()
        return max(self.peak_mb, _rss_mb()) - self.start_mb


def _large_run(rows: int, user: Any, tag: str, *, traced: bool) -> dict[str, Any]:
    """Upload ``rows`` rows and let the database backend's worker check and import them, as in
    production; returns the timings and the memory figures. What it created is deleted."""
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    data = census_xlsx(rows, tag=tag)
    gc.collect()
    sampler = _RssSampler()
    if traced:
        tracemalloc.start()
    sampler.start()
    started_at = timezone.now()
    started = time.perf_counter()
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        job = services.job_create(
            actor=user, upload=SimpleUploadedFile("large.xlsx", data), file_name="large.xlsx"
        )
        del data
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        checked = time.perf_counter()
        job.refresh_from_db()
        if job.status != JobStatus.CHECKED:
            raise SystemExit(f"large file refused: {job.message} {job.errors[:3]}")
        services.job_confirm(job=job, actor=user)
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    finished = time.perf_counter()
    rss_growth = sampler.stop()
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    if traced:
        tracemalloc.stop()
    job.refresh_from_db()
    if job.status != JobStatus.IMPORTED:
        raise SystemExit(f"large import failed: {job.message} {job.errors[:3]}")
    figures: dict[str, Any] = {
        "rows": rows,
        "background": job.background,
        "file_mb": round(job.file_size / (1 << 20), 1),
        "check_s": round(checked - started, 1),
        "import_s": round(finished - checked, 1),
        "total_s": round(finished - started, 1),
        "created": job.created_count,
        "rss_growth_mb": round(rss_growth, 1),
    }
    if traced:
        figures["peak_mb"] = round(peak / (1 << 20), 1)
        figures["peak_mb_per_10k"] = round(peak / (1 << 20) / (rows / 10000), 2)
    _undo(job)
    DBTaskResult.objects.filter(enqueued_at__gte=started_at).delete()
    return figures


def _undo(job: ImportJob) -> None:
    """Delete what a bench job created, so later benchmarks see the same data (its audit rows
    stay: the log is append-only)."""
    source = services.source_of(job)
    ids = list(
        MediaAccount.objects.filter(
            history__source=source, history__action=AccountHistory.Action.CREATED
        ).values_list("pk", flat=True)
    )
    with transaction.atomic():
        people: set[int] = set()
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            people.update(
                TeamMember.objects.filter(account_id__in=chunk).values_list("person_id", flat=True)
            )
            TeamMember.objects.filter(account_id__in=chunk).delete()
            AccountHistory.objects.filter(account_id__in=chunk).delete()
            MediaAccount.objects.filter(pk__in=chunk).delete()
        created = sorted(
            Person.objects.filter(pk__in=people, created_at__gte=job.created_at)
            .filter(team_memberships__isnull=True)
            .values_list("pk", flat=True)
        )
        for start in range(0, len(created), 5000):
            Person.objects.filter(pk__in=created[start : start + 5000]).delete()
        ImportJob.objects.filter(pk=job.pk).delete()


def measure_large(rows: int) -> dict[str, Any]:
    """The large file through the background path, then the allocation peak at two smaller
    sizes: if memory grew with the rows, the peak would grow with them."""
    user = _department_user()
    figures: dict[str, Any] = {"vendor": connection.vendor, "target_s": TARGET_LARGE_S}
    figures["large"] = _large_run(rows, user, "L", traced=False)
    figures["memory"] = [
        _large_run(size, user, f"M{size}", traced=True)
        for size in (max(1000, rows // 15), max(2000, rows // 3))
    ]
    return figures


def print_large(write: Callable[[str], Any], figures: dict[str, Any]) -> None:
    if not figures:
        return
    large = figures["large"]
    write(
        f"\nCensus import of {large['rows']} rows as a background job ({figures['vendor']}, "
        f"xlsx {large['file_mb']} MB): check {large['check_s']} s + import "
        f"{large['import_s']} s = {large['total_s']} s (target < {figures['target_s']:g} s); "
        f"resident memory grew {large['rss_growth_mb']} MB"
    )
    write("  Python allocation peak of the whole job (tracemalloc, slower) by file size:")
    for run in figures["memory"]:
        write(
            f"    {run['rows']:>7} rows: peak {run['peak_mb']:>6.1f} MB "
            f"({run['peak_mb_per_10k']:.2f} MB per 10k rows), {run['total_s']} s"
        )
