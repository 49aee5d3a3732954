"""Badges and labels of the request pages."""

from __future__ import annotations

import html

from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from approvals.choices import Decision, RequestState
from approvals.models import AccountRequest
from approvals.selectors import field_display
from campusmedia import masking

register = template.Library()


def state_label(account_request: AccountRequest) -> str:
    """The state as the users say it: a tier-3 request is recorded (已备案), not approved."""
    if account_request.state == RequestState.APPROVED:
        return _("已备案") if account_request.route.decision == Decision.RECORD else _("已批准")
    if account_request.state == RequestState.SUBMITTED and not account_request.route.first_signoff:
        return _("待宣传部决定")
    return str(account_request.get_state_display())


@register.simple_tag
def request_state_badge(account_request: AccountRequest) -> str:
    state = account_request.state
    return mark_safe(
        f'<span class="badge request-{html.escape(state)}">'
        f"{html.escape(state_label(account_request))}</span>"
    )


@register.filter
def field_value(value: object) -> str:
    """A proposed value for display: lists joined, empty shown as a dash."""
    return field_display("", value)


@register.filter
def mask_mobile(value: str | None) -> str:
    return masking.mask_mobile(value or "")


@register.filter
def mask_email(value: str | None) -> str:
    return masking.mask_email(value or "")


@register.filter
def platform_name(code: str | None) -> str:
    """A platform code (``wechat``) → its name in the catalogue (微信公众号)."""
    return field_display("platform", code)
