"""Panels that other apps' pages show through a tag, so those pages need no filing code:

- ``{% filing_materials unit %}``: the unit's filing materials (uploaded or missing, download
  and upload where the viewer may);
- ``{% filing_office account %}``: the office that serves the account, with a select for the
  propaganda department.

Both read the viewer's ``access`` from the context (the ``navigation`` context processor).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from campusmedia.models import MediaAccount, Unit
from filing import office_services as services
from filing.choices import MaterialKind
from filing.office_forms import ACCEPT

register = template.Library()


@register.inclusion_tag("filing/_materials.html", takes_context=True)
def filing_materials(context: template.Context, unit: Unit) -> dict[str, Any]:
    access = context.get("access")
    request = context.get("request")
    found = services.unit_materials(unit)
    return {
        "unit": unit,
        "rows": [(kind, found.get(kind.value)) for kind in MaterialKind],
        "can_upload": access is not None and services.may_upload_materials(access, unit.pk),
        "can_download": access is not None and services.may_download_materials(access, unit.pk),
        "has_parent": unit.parent_id is not None,
        # Back to the panel itself after an upload (the page may be long).
        "next": f"{request.get_full_path()}#materials" if request is not None else "",
        "accept": ACCEPT,
        "max_mb": settings.CAMPUSMEDIA_UPLOAD_MAX_BYTES // (1 << 20),
    }


@register.inclusion_tag("filing/_office_tag.html", takes_context=True)
def filing_office(context: template.Context, account: MediaAccount) -> dict[str, Any]:
    from filing.offices import account_office_form

    access = context.get("access")
    city = settings.CAMPUSMEDIA_FILING_CITY
    municipal = services.municipal_office_of(city)
    own = account.filing_office
    serving = own if own is not None and own.is_active and own.city == city else municipal
    can_edit = access is not None and services.may_manage_offices(access)
    return {
        "account": account,
        "serving": serving,
        "own": own,
        "fallback": own is not None and serving is not own,
        "can_edit": can_edit,
        "form": account_office_form(account) if can_edit else None,
    }
