"""Template helpers: vocabulary labels and the status and tier badges.

Codes are stored (``news``, ``active``, ``2``); pages show the Chinese labels of ``choices.py``.
Unknown codes are shown as they are rather than dropped, so a bad row stays visible.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.db import models
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from campusmedia.choices import (
    AccountStatus,
    ContentCategory,
    ContentForm,
    Role,
    Tier,
    _labels_in,
    choice_labels,
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
    known = choice_labels(choices)
    return [known.get(code, str(code)) for code in codes or ()]


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
    return [label for value, label in choice_labels(Role).items() if value in wanted]


@register.filter
def status_label(code: str) -> str:
    return choice_labels(AccountStatus).get(code, str(code))


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


@functools.cache
def _status_badges(language: str | None) -> dict[str, str]:
    """``{code: '<span class="badge status-active">运行中</span>'}`` in one language."""
    return {
        code: f'<span class="badge status-{code.replace("_", "-")}">{_e(label)}</span>'
        for code, label in _labels_in(AccountStatus, language).items()
    }


@functools.cache
def _tier_badges(language: str | None) -> dict[int, str]:
    """``{2: '<span class="badge tier tier-2" title="二级平台">二级</span>'}`` in one language."""
    return {
        number: (
            f'<span class="badge tier tier-{number}" title="{_e(label)}">'
            f"{_e(_TIER_SHORT[number])}</span>"
        )
        for number, label in _labels_in(Tier, language).items()
    }


def _status_badge(status: str) -> str:
    """``<span class="badge status-active">运行中</span>``, every value escaped; an unknown code
    is shown as it is."""
    badge = _status_badges(get_language()).get(status)
    if badge is None:
        return f'<span class="badge status-unknown">{_e(status)}</span>'
    return badge


def _tier_badge(tier: Any) -> str:
    """``<span class="badge tier tier-2" title="二级平台">二级</span>``, or "" for no tier."""
    try:
        number = int(tier)
    except (TypeError, ValueError):
        return ""
    return _tier_badges(get_language()).get(number, "")


@register.simple_tag
def status_badge(status: str) -> str:
    return mark_safe(_status_badge(status))


@register.simple_tag
def tier_badge(tier: Any) -> str:
    return mark_safe(_tier_badge(tier))


@register.simple_tag
def filter_field(field: Any) -> str:
    """A control of the filter bar (``forms.FilterField``) with its label, built directly:
    through Django's widget templates each ``<option>`` of the unit filter (one per unit) is
    rendered by the template engine, which costs more than the whole result table."""
    name, html_id = _e(field.name), f"id_{_e(field.name)}"
    if field.options:
        current = str(field.value)
        options = "".join(
            f'<option value="{_e(value)}"{" selected" if str(value) == current else ""}>'
            f"{_e(label)}</option>"
            for value, label in field.options
        )
        control = f'<select name="{name}" id="{html_id}">{options}</select>'
    else:
        control = (
            f'<input type="search" name="{name}" id="{html_id}" value="{_e(field.value)}" '
            f'maxlength="100" placeholder="{_e(field.placeholder)}">'
        )
    return mark_safe(
        f'<div class="filter-field filter-{name}"><label for="{html_id}">{_e(field.label)}</label>'
        f"{control}</div>"
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
    language = get_language()
    status_badges, tier_badges = _status_badges(language), _tier_badges(language)
    url_head, url_tail = reverse("account_detail", args=[_URL_SENTINEL]).split(str(_URL_SENTINEL))
    rows = []
    for a in accounts:
        account_id = f'<span class="sub mono">{_e(a.account_id)}</span>' if a.account_id else ""
        kind = f" · {_e(a.account_type)}" if a.account_type else ""
        url = _e(f"{url_head}{a.pk}{url_tail}")
        status = status_badges.get(a.status) or _status_badge(a.status)
        rows.append(
            f'<tr><td data-label="{n}" class="cell-title">'
            f'<a href="{url}">{_e(a.name)}</a>{account_id}</td>'
            f'<td data-label="{platform}">{_e(a.platform.name)}{kind}</td>'
            f'<td data-label="{unit}">{_e(a.owner_unit.name)}</td>'
            f'<td data-label="{tier_l}">{tier_badges.get(a.tier, "")}</td>'
            f'<td data-label="{status_l}">{status}</td>'
            f'<td data-label="{followers}" class="num">'
            f"{'—' if a.follower_count is None else a.follower_count}</td>"
            f'<td data-label="{opened}" class="nowrap">'
            f"{a.opened_on.isoformat() if a.opened_on else '—'}</td>"
            f'<td data-label="{approval}" class="mono nowrap">{_e(a.approval_number or "—")}</td>'
            "</tr>"
        )
    return mark_safe("\n".join(rows))


# Reversed once per table, then the row's key put in its place.
_URL_SENTINEL = 987654321

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
