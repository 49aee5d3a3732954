"""Template helpers: vocabulary labels and the status and tier badges.

Codes are stored (``news``, ``active``, ``2``); pages show the Chinese labels of ``choices.py``.
Unknown codes are shown as they are rather than dropped, so a bad row stays visible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.db import models
from django.utils.html import format_html
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


@register.simple_tag
def status_badge(status: str) -> str:
    """``<span class="badge status-active">运行中</span>``."""
    code = status if status in AccountStatus.values else "unknown"
    return format_html(
        '<span class="badge status-{}">{}</span>', code.replace("_", "-"), status_label(status)
    )


@register.simple_tag
def tier_badge(tier: Any) -> str:
    """``<span class="badge tier-2" title="二级平台">二级</span>``."""
    try:
        number = int(tier)
    except (TypeError, ValueError):
        return ""
    if number not in Tier.values:
        return ""
    return format_html(
        '<span class="badge tier tier-{}" title="{}">{}</span>',
        number,
        Tier(number).label,
        _TIER_SHORT[number],
    )
