"""``{% filing_status account %}``: the municipal filing line of an account's page."""

from __future__ import annotations

from typing import Any

from django import template

from campusmedia.models import MediaAccount
from filing.cities import city_form
from filing.selectors import account_filing_state

register = template.Library()


@register.inclusion_tag("filing/_account_status.html")
def filing_status(account: MediaAccount) -> dict[str, Any]:
    return {"state": account_filing_state(account), "account": account, "city": city_form()}
