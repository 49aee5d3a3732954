"""Template helpers: vocabulary labels and the status and tier badges.

Codes are stored (``news``, ``active``, ``2``); pages show the Chinese labels of ``choices.py``.
Unknown codes are shown as they are rather than dropped, so a bad row stays visible.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.db import models
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from campusmedia.choices import (
    AccountStatus,
    ContentCategory,
    ContentForm,
    Role,
    Tier,
)

register = template.Library()

# Short tier labels for badges; the long ones (一级平台 …) are in the badge's title.
_TIER_SHORT = {1: _("一级"), 2: _("二级"), 3: _("三级")}

# History rows store list fields as codes joined with this separator (services._display).
_LIST_SEPARATOR = "、"
_LIST_FIELDS: dict[str, type[models.TextChoices]] = {
    "content_categories": ContentCategory,
    "content_forms": ContentForm,
}


def _labels(codes: Iterable[Any] | None, choices: type[models.TextChoices]) -> list[str]:
    known = dict(choices.choices)
    return [str(known.get(code, code)) for code in codes or ()]


@register.filter
def category_labels(codes: Iterable[str] | None) -> list[str]:
    """``["news", "policy"]`` → ``["新闻发布", "政策法规"]``."""
    return _labels(codes, ContentCategory)


@register.filter
def form_labels(codes: Iterable[str] | None) -> list[str]:
    """``["text", "video"]`` → ``["文字", "视频"]``."""
    return _labels(codes, ContentForm)


@register.filter
def role_labels(codes: Iterable[str] | None) -> list[str]:
    """Role codes (e.g. ``access.roles``) → their labels, in the order of ``Role``."""
    wanted = set(codes or ())
    return [str(label) for value, label in Role.choices if value in wanted]


@register.filter
def status_label(code: str) -> str:
    return str(dict(AccountStatus.choices).get(code, code))


@register.filter
def history_value(value: Any, field_name: str) -> str:
    """A value of a history row, readable: list fields stored as codes get their labels."""
    if value in (None, ""):
        return ""
    choices = _LIST_FIELDS.get(field_name)
    if choices is None:
        return str(value)
    return _LIST_SEPARATOR.join(_labels(str(value).split(_LIST_SEPARATOR), choices))


@register.filter
def get_item(mapping: Mapping[Any, Any] | None, key: Any) -> Any:
    """``mapping[key]`` in a template, 0 when missing (counts by status or tier)."""
    if not mapping:
        return 0
    return mapping.get(key, 0)


def _status_badge(status: str) -> str:
    """``<span class="badge status-active">运行中</span>``, every value escaped."""
    code = status if status in AccountStatus.values else "unknown"
    return f'<span class="badge status-{code.replace("_", "-")}">{_e(status_label(status))}</span>'


def _tier_badge(tier: Any) -> str:
    """``<span class="badge tier tier-2" title="二级平台">二级</span>``, or "" for no tier."""
    try:
        number = int(tier)
    except (TypeError, ValueError):
        return ""
    if number not in Tier.values:
        return ""
    return (
        f'<span class="badge tier tier-{number}" title="{_e(Tier(number).label)}">'
        f"{_e(_TIER_SHORT[number])}</span>"
    )


@register.simple_tag
def status_badge(status: str) -> str:
    return mark_safe(_status_badge(status))


@register.simple_tag
def tier_badge(tier: Any) -> str:
    return mark_safe(_tier_badge(tier))


@register.simple_tag
def filter_select(field: Any) -> str:
    """A filter ``<select>`` for a bound ChoiceField, built directly.

    Django's widget templates render each ``<option>`` through the template engine; on the
    registry's unit filter (one option per unit) that costs more than the whole result table.
    """
    current = "" if field.value() in (None, "") else str(field.value())
    options = "".join(
        f'<option value="{_e(value)}"{" selected" if str(value) == current else ""}>'
        f"{_e(label)}</option>"
        for value, label in field.field.choices
    )
    return mark_safe(
        f'<select name="{_e(field.html_name)}" id="{_e(field.auto_id)}">{options}</select>'
    )


def _e(value: Any) -> str:
    """Escape for HTML text and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


@register.simple_tag
def registry_rows(accounts: Iterable[Any]) -> str:
    """The registry table's rows, built in one pass with every value escaped.

    The registry is the busiest list of the site and ``make bench`` holds it to 1.5x a bare
    query-and-print baseline; through the template engine (or format_html, which checks every
    argument for laziness), 50 rows of eight cells cost several times that. The markup matches
    the header in registry.html.
    """
    n, platform, unit, tier_l, status_l, followers, opened, approval = (
        _e(label) for label in _ROW_LABELS
    )
    rows = []
    for a in accounts:
        account_id = f'<span class="sub mono">{_e(a.account_id)}</span>' if a.account_id else ""
        kind = f" · {_e(a.account_type)}" if a.account_type else ""
        url = _e(reverse("account_detail", args=[a.pk]))
        rows.append(
            f'<tr><td data-label="{n}" class="cell-title">'
            f'<a href="{url}">{_e(a.name)}</a>{account_id}</td>'
            f'<td data-label="{platform}">{_e(a.platform.name)}{kind}</td>'
            f'<td data-label="{unit}">{_e(a.owner_unit.name)}</td>'
            f'<td data-label="{tier_l}">{_tier_badge(a.tier)}</td>'
            f'<td data-label="{status_l}">{_status_badge(a.status)}</td>'
            f'<td data-label="{followers}" class="num">'
            f"{'—' if a.follower_count is None else a.follower_count}</td>"
            f'<td data-label="{opened}" class="nowrap">'
            f"{a.opened_on.isoformat() if a.opened_on else '—'}</td>"
            f'<td data-label="{approval}" class="mono nowrap">{_e(a.approval_number or "—")}</td>'
            "</tr>"
        )
    return mark_safe("\n".join(rows))


_ROW_LABELS = (
    _("名称"),
    _("平台/类型"),
    _("主办单位"),
    _("级别"),
    _("状态"),
    _("粉丝量"),
    _("开通日期"),
    _("审批号"),
)
