"""``{% export_links "registry" %}``: the "导出 Excel / CSV" buttons of a list page.

The links carry the page's query string (without ``page``), so the file holds what the user is
looking at: every row under the same filters, not only the page on screen.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from exports.writers import FORMATS

register = template.Library()

_LABELS = {"xlsx": "Excel", "csv": "CSV"}


@register.inclusion_tag("exports/_links.html", takes_context=True)
def export_links(
    context: template.Context, name: str, *args: Any, label: str = "", **params: Any
) -> dict:
    """Links to ``exports:<name>`` in each format; ``args`` go into the URL (the review year),
    ``params`` into the query string beside the page's own (``inbox=1``); ``label`` says what is
    exported where the page offers other downloads too."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else None
    if query is not None:
        query.pop("page", None)
        for key, value in params.items():
            if value not in (None, "", False):
                query[key] = str(value)
    encoded = query.urlencode() if query is not None else ""
    links = [
        (
            _LABELS[fmt],
            fmt,
            reverse(f"exports:{name}", args=[*args, fmt]) + (f"?{encoded}" if encoded else ""),
        )
        for fmt in FORMATS
    ]
    return {"links": links, "label": label}
