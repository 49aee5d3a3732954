"""Whether the login page offers single sign-on through the campus CAS (campusmedia.cas)."""

from __future__ import annotations

from django import template

from campusmedia import cas

register = template.Library()


@register.simple_tag
def cas_enabled() -> bool:
    return cas.cas_enabled()
