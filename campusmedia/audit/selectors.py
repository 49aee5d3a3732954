"""Reads of the audit log for the auditor's page and its CSV download."""

from __future__ import annotations

import datetime
import ipaddress
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction, AuditOutcome
from campusmedia.spreadsheets import cell_value

# Names of the keys that ``audit_record`` callers put in ``detail``; others are shown as they are.
DETAIL_LABELS: dict[str, Promise] = {
    "step": gettext_lazy("步骤"),
    "from": gettext_lazy("原状态"),
    "to": gettext_lazy("新状态"),
    "comment": gettext_lazy("意见"),
    "reason": gettext_lazy("原因"),
    "field": gettext_lazy("信息项"),
    "fields": gettext_lazy("字段"),
    "role": gettext_lazy("角色"),
    "roles": gettext_lazy("角色"),
    "source": gettext_lazy("来源"),
    "kind": gettext_lazy("类别"),
    "account": gettext_lazy("账号"),
    "accounts": gettext_lazy("账号"),
    "unit": gettext_lazy("单位"),
    "person": gettext_lazy("人员"),
    "year": gettext_lazy("年度"),
    "via": gettext_lazy("方式"),
    "size": gettext_lazy("大小"),
    "event": gettext_lazy("事件"),
    "what": gettext_lazy("内容"),
    "table": gettext_lazy("表"),
    "rows": gettext_lazy("行数"),
    "filter": gettext_lazy("筛选条件"),
    "path": gettext_lazy("路径"),
    "number": gettext_lazy("编号"),
    "title": gettext_lazy("标题"),
    "attachment": gettext_lazy("附件"),
    "attachments": gettext_lazy("附件数"),
    "recipients": gettext_lazy("收件人数"),
    "material": gettext_lazy("材料"),
    "created": gettext_lazy("新建"),
    "starts_on": gettext_lazy("开始日期"),
    "ends_on": gettext_lazy("结束日期"),
    "due_on": gettext_lazy("期限"),
    "head_seq": gettext_lazy("链头序号"),
    "head": gettext_lazy("链头哈希"),
    "sealed": gettext_lazy("本次封存"),
    "broken": gettext_lazy("断链位置"),
}
DETAIL_VALUE_MAX = 300


@dataclass(frozen=True)
class AuditFilter:
    """The filters in force, read from a valid (or partly valid) ``AuditFilterForm``."""

    start: datetime.date | None = None
    end: datetime.date | None = None
    action: str = ""
    outcome: str = ""
    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    ip: str = ""

    @classmethod
    def from_cleaned(cls, data: Mapping[str, Any]) -> AuditFilter:
        def text(name: str) -> str:
            return str(data.get(name) or "").strip()

        return cls(
            start=data.get("start"),
            end=data.get("end"),
            action=text("action"),
            outcome=text("outcome"),
            actor=text("actor"),
            object_type=text("object_type"),
            object_id=text("object_id"),
            ip=text("ip"),
        )

    def as_detail(self) -> dict[str, str]:
        """The filters set, for the export's audit row."""
        return {name: str(value) for name, value in asdict(self).items() if value}


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def audit_events(filters: AuditFilter) -> QuerySet[AuditEvent]:
    """Filtered rows, newest first. Dates are local days turned into a time range, so the index
    on ``at`` serves them."""
    events = AuditEvent.objects.all()
    if filters.start:
        events = events.filter(at__gte=_local_midnight(filters.start))
    if filters.end:
        events = events.filter(at__lt=_local_midnight(filters.end + datetime.timedelta(days=1)))
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    if filters.actor:
        events = events.filter(actor_name__icontains=filters.actor)
    if filters.object_type:
        events = events.filter(object_type=filters.object_type)
    if filters.object_id:
        events = events.filter(object_id=filters.object_id)
    if filters.ip:
        try:
            events = events.filter(ip=str(ipaddress.ip_address(filters.ip)))
        except ValueError:  # the start of an address: 10.2.
            events = events.filter(ip__startswith=filters.ip)
    return events.order_by("-at", "-id")


@cache
def _project_models() -> dict[str, Any]:
    """model_name → (lazy) verbose name of this project's own models: the object types that
    ``audit_record`` writes. Read from the app registry, not from the log."""
    base = Path(settings.BASE_DIR).resolve()
    found: dict[str, Any] = {}
    for model in apps.get_models():
        path = Path(model._meta.app_config.path).resolve()
        if path.is_relative_to(base) and ".venv" not in path.parts:
            found[model._meta.model_name or ""] = model._meta.verbose_name
    return found


def object_type_choices() -> list[tuple[str, str]]:
    """(model_name, verbose name) by verbose name, translated for the current request."""
    return sorted(
        ((name, str(label)) for name, label in _project_models().items()), key=lambda c: c[1]
    )


def object_type_label(model_name: str) -> str:
    label = _project_models().get(model_name)
    return str(label) if label is not None else model_name


def _value_text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        text = "、".join(_value_text(item) for item in value)
    elif isinstance(value, dict):
        text = "，".join(f"{key}: {_value_text(item)}" for key, item in value.items())
    else:
        text = str(value)
    return text if len(text) <= DETAIL_VALUE_MAX else text[: DETAIL_VALUE_MAX - 1] + "…"


def detail_items(detail: Any) -> list[tuple[str, str]]:
    """A row's ``detail`` as (label, text) pairs a person can read."""
    if not isinstance(detail, dict):
        return [("", _value_text(detail))] if detail not in (None, "", [], {}) else []
    return [(str(DETAIL_LABELS.get(key, key)), _value_text(value)) for key, value in detail.items()]


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    object_type_label: str
    detail: list[tuple[str, str]]


def audit_rows(events: Iterable[AuditEvent]) -> list[AuditRow]:
    return [
        AuditRow(
            event=event,
            object_type_label=object_type_label(event.object_type),
            detail=detail_items(event.detail),
        )
        for event in events
    ]


CSV_HEADER = (
    gettext_lazy("时间"),
    gettext_lazy("链序号"),
    gettext_lazy("操作人"),
    gettext_lazy("事件"),
    gettext_lazy("结果"),
    gettext_lazy("来源IP"),
    gettext_lazy("对象类型"),
    gettext_lazy("对象ID"),
    gettext_lazy("对象"),
    gettext_lazy("详情"),
)


def csv_rows(events: QuerySet[AuditEvent], chunk_size: int = 2000) -> Iterator[list[Any]]:
    """The header, then one list per row, every text cell escaped against formulae. The detail
    is the row's JSON as stored (audit rows never hold full ID numbers or other secrets)."""
    actions, outcomes = dict(AuditAction.choices), dict(AuditOutcome.choices)
    yield [str(title) for title in CSV_HEADER]
    for event in events.iterator(chunk_size=chunk_size):
        yield [
            cell_value(value)
            for value in (
                timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M:%S"),
                event.seq if event.seq is not None else "",
                event.actor_name,
                str(actions.get(event.action, event.action)),
                str(outcomes.get(event.outcome, event.outcome)),
                event.ip or "",
                object_type_label(event.object_type),
                event.object_id,
                event.object_repr,
                json.dumps(event.detail, ensure_ascii=False, sort_keys=True),
            )
        ]
