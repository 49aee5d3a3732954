"""Census files for the tests: rows as {column label: value}, written into the downloaded
template (xlsx) or as UTF-8 CSV, and the department's upload of them."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from census import services
from census.files import DATA_SHEET
from census.models import ImportJob
from census.resources import CensusResource
from census.template import template_bytes

COLUMNS = [column.column_name for column in CensusResource().columns]
_serial = itertools.count(1)


def good_row(**overrides: Any) -> dict[str, Any]:
    """A valid row for college A (unit code ``cs``) with a fresh account id and mobiles."""
    n = next(_serial)
    row = {
        "主办单位": "cs",
        "账号名称（昵称）": f"普查账号{n}",
        "平台": "微信公众号",
        "账号类型": "订阅号",
        "账号ID": f"gh_census{n:05d}",
        "内容类别": "新闻发布、政策法规",
        "内容形式": "文字,图片",
        "功能定位": "发布学院新闻",
        "开通日期": "2019-09-01",
        "认证情况": "已认证",
        "认证说明": "",
        "粉丝量": 1200,
        "运营人数": 3,
        "主页链接": "mp.weixin.qq.com/cs",
        "主要负责人姓名": "孔院长",
        "主要负责人办公电话": "010-62751234",
        "主要负责人手机": "13900139000",
        "管理员1姓名": f"管理员{n}",
        "管理员1办公电话": "",
        "管理员1手机": f"1370013{n % 10000:04d}",
        "管理员1电子邮箱": f"admin{n}@example.edu.cn",
        "管理员1微信号": f"wx_admin{n}",
        "管理员1是否学生": "否",
    }
    row.update(overrides)
    return row


def xlsx_bytes(rows: list[dict[str, Any]]) -> bytes:
    """The downloaded template with ``rows`` filled in below its header."""
    workbook = openpyxl.load_workbook(io.BytesIO(template_bytes()))
    sheet = workbook[DATA_SHEET]
    for offset, row in enumerate(rows, start=2):
        for index, label in enumerate(COLUMNS, start=1):
            if row.get(label) not in (None, ""):
                sheet.cell(row=offset, column=index, value=row[label])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if row.get(label) is None else row.get(label) for label in COLUMNS])
    return buffer.getvalue().encode("utf-8")


@pytest.fixture
def upload(world) -> Callable[..., ImportJob]:
    """``upload(data, name="census.xlsx", user="propaganda")``: the service path of the page."""

    def make(data: bytes, name: str = "census.xlsx", user: str = "propaganda") -> ImportJob:
        return services.job_create(
            actor=world.users[user], upload=SimpleUploadedFile(name, data), file_name=name
        )

    return make


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs what the services leave for after the commit (removing the
    stored files, queued tasks), as the commit of a real request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
