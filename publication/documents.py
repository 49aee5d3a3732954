"""The printable public list of an edition (PDF), through ``approvals.pdf``.

The project's own template (``templates/print/edition.html``) is rendered with Django's
autoescaping and laid out by WeasyPrint with the URL fetcher that serves only the static files
(SECURITY.md, "Exports, imports, PDFs"). An edition of thousands of accounts runs to many pages,
so its page limit grows with the number of entries instead of the setting for one-page forms.

Laying out 3,000 rows takes seconds, so the PDF of an edition is rendered once, on its first
download, and kept (``EditionPdf``): an edition never changes, and a public link must not let
every visitor start a render.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from approvals.pdf import PRINT_LANGUAGE, html_to_pdf, print_html
from publication.models import Edition, EditionEntry, EditionPdf
from publication.selectors import edition_entries, group_entries, school_name

# The fewest rows a page holds when every row wraps to three lines (long names and units).
_ROWS_PER_PAGE_AT_LEAST = 15


def edition_title(edition: Edition, school: str) -> str:
    """``北辰大学校园新媒体公开名录（第3期）``."""
    return _("%(school)s校园新媒体公开名录（第%(number)s期）") % {
        "school": school,
        "number": edition.number,
    }


def page_limit(entries: int) -> int:
    return max(settings.CAMPUSMEDIA_PDF_MAX_PAGES, entries // _ROWS_PER_PAGE_AT_LEAST + 3)


def render_edition_pdf(edition: Edition, entries: Sequence[EditionEntry] | None = None) -> bytes:
    """The edition's list as an A4 PDF: title, date, one table per tier (header repeated on
    each page), page numbers."""
    if entries is None:
        entries = edition_entries(edition)
    school = school_name()
    with translation.override(PRINT_LANGUAGE):
        context = {
            "edition": edition,
            "title": edition_title(edition, school),
            "school_name": school,
            "groups": group_entries(entries),
            "total": len(entries),
        }
        html = print_html("edition", context)
    return html_to_pdf(html, ["base", "edition"], max_pages=page_limit(len(entries)))


def _stored(edition: Edition) -> bytes | None:
    content = EditionPdf.objects.filter(edition=edition).values_list("content", flat=True).first()
    return bytes(content) if content is not None else None


def edition_pdf(edition: Edition) -> bytes:
    """The edition's PDF: the kept copy, or rendered now and kept. Concurrent first downloads
    wait on the edition's row lock and then read the copy the first one made (on PostgreSQL;
    SQLite serialises the writes anyway)."""
    content = _stored(edition)
    if content is not None:
        return content
    with transaction.atomic():
        Edition.objects.select_for_update().filter(pk=edition.pk).values_list("pk").first()
        content = _stored(edition)
        if content is None:
            content = render_edition_pdf(edition)
            EditionPdf.objects.create(edition=edition, content=content)
    return content
