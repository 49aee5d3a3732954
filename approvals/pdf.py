"""The printable papers of a request: the 校园新媒体审批（备案）表 and the 网络信息安全承诺书.

Both are rendered by WeasyPrint from the project's own templates (``templates/print/``) through
Django's template engine, so every value from the request is autoescaped. SECURITY.md, "Exports,
imports, PDFs": the URL fetcher serves only the project's static files and ``data:`` URLs (no
network, no other file), and a render is refused above ``CAMPUSMEDIA_PDF_MAX_PAGES`` pages.

The approval form is signed and sealed inside the school and its contacts are needed there, so it
prints the team's mobile numbers and e-mail addresses in full; ``masked=True`` gives the copy that
leaves the department.
"""

from __future__ import annotations

import functools
import mimetypes
import posixpath
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from unicodedata import east_asian_width
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from weasyprint import CSS, HTML
from weasyprint.document import Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from approvals.choices import Decision, RequestKind, StepAction
from approvals.models import AccountRequest
from approvals.routing import first_signer_label
from approvals.selectors import field_changes
from approvals.services import ACCOUNT_FIELDS, data_to_fields
from campusmedia.choices import (
    ContentCategory,
    ContentForm,
    TeamRole,
    Tier,
    UnitKind,
    Verification,
    choice_labels,
)
from campusmedia.masking import mask_email, mask_mobile
from campusmedia.models import Platform, Unit

__all__ = [
    "PRINT_BASE_URL",
    "PdfTooLarge",
    "StaticOnlyURLFetcher",
    "html_to_pdf",
    "layout",
    "print_html",
    "render_approval_form",
    "render_pledge",
]

# Relative URLs in the print templates resolve under this base; the fetcher maps the ones under
# STATIC_URL to the project's static files. ``.invalid`` (RFC 2606) never resolves, and nothing is
# ever requested from it.
PRINT_BASE_URL = "https://print.campusmedia.invalid/"
PRINT_LANGUAGE = "zh-hans"

ERR_URL_REFUSED = "打印模板只能引用本系统的静态文件或 data: 地址：%(url)s"
ERR_TOO_MANY_PAGES = "打印文件有 %(pages)s 页，超过了 %(limit)s 页的上限，请精简申请内容后再打印。"
ERR_TOO_LARGE = "打印内容过长（超过 %(limit)s 页的上限），请精简申请内容后再打印。"

# A cheap guard before layout, which is where the time goes: no page of these forms holds
# anywhere near this much HTML, so a larger document could only end above the page limit.
_HTML_CHARS_PER_PAGE = 32_000
# The paper form has one row for the supervising leader and two for administrators.
_ADMIN_ROWS = 2
# Checkbox rows (TickLines): the widest cell holds 41 em of 10.5 pt text; a margin of 3 em
# absorbs the estimate of Latin widths. Boxes are parted by one ideographic space.
_TICK_LINE_EM = 38.0
_TICK_GAP = "\u3000"
_TICK_GAP_EM = 1.0


class PdfTooLarge(Exception):
    """The document would run past the page limit (``CAMPUSMEDIA_PDF_MAX_PAGES``)."""


# --- The URL fetcher ----------------------------------------------------------------------------


def static_file_for(url: str) -> str | None:
    """The file behind ``url`` if it names one of the project's static files, else ``None``.

    Only URLs under ``urljoin(PRINT_BASE_URL, STATIC_URL)`` qualify; the rest of the path is
    looked up with the staticfiles finders (which refuse paths outside their directories).
    """
    prefix = urlsplit(urljoin(PRINT_BASE_URL, settings.STATIC_URL))
    target = urlsplit(url)
    if (target.scheme.lower(), target.netloc.lower()) != (
        prefix.scheme.lower(),
        prefix.netloc.lower(),
    ):
        return None
    if not target.path.startswith(prefix.path):
        return None
    relative = unquote(target.path[len(prefix.path) :])
    if not relative or "\\" in relative or "\x00" in relative:
        return None
    normalized = posixpath.normpath(relative)
    if normalized.startswith(("../", "/")) or normalized in (".", ".."):
        return None
    found = finders.find(normalized)
    return found if isinstance(found, str) else None


class StaticOnlyURLFetcher(URLFetcher):
    """Fetches ``data:`` URLs and the project's static files; refuses everything else."""

    def __init__(self, **kwargs: Any) -> None:
        # The parent's opener only ever sees data: URLs (see fetch), and is told so as well.
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, **kwargs)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        if urlsplit(url).scheme.lower() == "data":
            return super().fetch(url, headers)
        path = static_file_for(url)
        if path is None:
            raise ValueError(ERR_URL_REFUSED % {"url": url[:200]})
        with open(path, "rb") as file:
            body = file.read()
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


_fonts = threading.local()


def _font_config() -> FontConfiguration:
    """One font configuration per thread (Pango's font map is not thread-safe): a fresh one per
    render would look the CJK faces up again each time, about 20 ms of a 150 ms render."""
    config = getattr(_fonts, "config", None)
    if config is None:
        config = _fonts.config = FontConfiguration()
    return config


@functools.cache
def _stylesheet(name: str) -> CSS:
    """A print stylesheet (``static/campusmedia/print/<name>.css``), parsed once per process: a
    ``<style>`` element would be parsed again on every render. Parsed stylesheets are only read
    by later renders, so threads can share them."""
    path = finders.find(f"campusmedia/print/{name}.css")
    if not isinstance(path, str):
        raise ImproperlyConfigured(f"print stylesheet {name}.css is missing")
    return CSS(filename=path, url_fetcher=StaticOnlyURLFetcher())


def print_html(template_name: str, context: Mapping[str, Any]) -> str:
    """``print/<template_name>.html`` rendered in Chinese, refused when it could only end above
    the page limit."""
    limit = settings.CAMPUSMEDIA_PDF_MAX_PAGES
    with translation.override(PRINT_LANGUAGE):
        html = render_to_string(f"print/{template_name}.html", dict(context))
        if len(html) > limit * _HTML_CHARS_PER_PAGE:
            raise PdfTooLarge(_(ERR_TOO_LARGE) % {"limit": limit})
    return html


def layout(html: str, stylesheets: Sequence[str], *, max_pages: int | None = None) -> Document:
    """Lay out printed HTML with the named print stylesheets, refused above the page limit.
    Needs no database, so worker processes can call it (``filing.render``)."""
    limit = max_pages or settings.CAMPUSMEDIA_PDF_MAX_PAGES
    document = HTML(
        string=html, base_url=PRINT_BASE_URL, url_fetcher=StaticOnlyURLFetcher()
    ).render(font_config=_font_config(), stylesheets=[_stylesheet(name) for name in stylesheets])
    if len(document.pages) > limit:
        with translation.override(PRINT_LANGUAGE):
            message = _(ERR_TOO_MANY_PAGES) % {"pages": len(document.pages), "limit": limit}
        raise PdfTooLarge(message)
    return document


def html_to_pdf(html: str, stylesheets: Sequence[str], *, max_pages: int | None = None) -> bytes:
    """``layout`` written as a PDF."""
    return layout(html, stylesheets, max_pages=max_pages).write_pdf()


def _write_pdf(template_name: str, context: Mapping[str, Any]) -> bytes:
    """Render ``print/<template_name>.html`` (in Chinese) to PDF within the page limit, styled by
    the common print stylesheet and the template's own."""
    return html_to_pdf(print_html(template_name, context), ["base", template_name])


# --- What the papers show -----------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    """One printed checkbox with its label: □ as on the paper form, ■ when chosen (both are in
    Noto CJK, where ☐/☑ are not; the fallback font they would pull in costs a third of a render)."""

    label: str
    ticked: bool

    def __str__(self) -> str:
        return ("■" if self.ticked else "□") + self.label

    @property
    def width(self) -> float:
        """Printed width in em: CJK (and the box) one em, other characters at most 0.6 em."""
        return sum(1.0 if east_asian_width(ch) in "FWA" else 0.6 for ch in str(self))


@dataclass(frozen=True)
class TickLines:
    """A row of checkboxes, set into lines here rather than by the layout engine: a box is
    never parted from its label, and the cell is plain text (an element per box would cost the
    layout a fifth of the render). ``nowrap`` is false only when a label is wider than a line
    (a long platform name), which the cell then wraps as ordinary text."""

    lines: list[str]
    nowrap: bool


def _ticks(choices: Iterable[tuple[Any, str]], chosen: Iterable[Any]) -> TickLines:
    wanted = set(chosen)
    ticks = [Tick(label=str(label), ticked=value in wanted) for value, label in choices]
    lines: list[list[Tick]] = [[]]
    used = 0.0
    for tick in ticks:
        needed = tick.width + (_TICK_GAP_EM if lines[-1] else 0)
        if lines[-1] and used + needed > _TICK_LINE_EM:
            lines.append([])
            needed = tick.width
            used = 0.0
        lines[-1].append(tick)
        used += needed
    return TickLines(
        lines=[_TICK_GAP.join(str(t) for t in line) for line in lines if line],
        nowrap=all(t.width <= _TICK_LINE_EM for t in ticks),
    )


@dataclass(frozen=True)
class TeamRow:
    role: str
    role_label: str
    name: str = ""
    title: str = ""
    office_phone: str = ""
    mobile: str = ""
    email: str = ""
    wechat_id: str = ""

    @property
    def email_local(self) -> str:
        return self.email.rpartition("@")[0] if "@" in self.email else self.email

    @property
    def email_domain(self) -> str:
        return self.email.rpartition("@")[2] if "@" in self.email else ""


def _school_name(unit: Unit) -> str:
    node: Unit | None = unit
    while node is not None and node.kind != UnitKind.SCHOOL:
        node = node.parent
    return node.name if node is not None else ""


def _account_values(account_request: AccountRequest) -> dict[str, Any]:
    """The account fields the form shows: the proposal, or for a closure the account as it is."""
    if account_request.kind == RequestKind.CLOSE and account_request.account is not None:
        account = account_request.account
        return {name: getattr(account, name) for name in ACCOUNT_FIELDS}
    return data_to_fields(account_request.data)


def _team_row(role: str, member: Any, *, roles: Mapping[str, str], masked: bool) -> TeamRow:
    """``member`` is a ProposedMember or a Person (both carry the contact fields)."""
    return TeamRow(
        role=role,
        role_label=roles.get(role, role),
        name=member.name,
        title=member.title,
        office_phone=member.office_phone,
        mobile=(mask_mobile(member.mobile) if masked else member.mobile) or "",
        email=(mask_email(member.email) if masked else member.email) or "",
        wechat_id=member.wechat_id,
    )


def _team_rows(account_request: AccountRequest, *, masked: bool) -> list[TeamRow]:
    """The 管理队伍 rows: the supervising leader first, then the administrators, padded with
    empty rows to the paper form's shape so that a missing person can be written in by hand."""
    roles = choice_labels(TeamRole)
    rows = [_team_row(m.role, m, roles=roles, masked=masked) for m in account_request.team.all()]
    if not rows and account_request.account is not None:
        # A closure proposes no team: print the team that runs the account now.
        current = account_request.account.team.current().select_related("person")
        rows = [_team_row(m.role, m.person, roles=roles, masked=masked) for m in current]
    supervisors = [r for r in rows if r.role == TeamRole.SUPERVISOR]
    admins = [r for r in rows if r.role == TeamRole.ADMINISTRATOR]
    if not supervisors:
        supervisors = [TeamRow(TeamRole.SUPERVISOR, roles[TeamRole.SUPERVISOR])]
    admins += [
        TeamRow(TeamRole.ADMINISTRATOR, roles[TeamRole.ADMINISTRATOR])
        for _i in range(_ADMIN_ROWS - len(admins))
    ]
    return supervisors + admins


def _opinion_boxes(account_request: AccountRequest) -> dict[str, Any]:
    """Titles of the two opinion boxes (as printed lines) and what the system recorded for each."""
    unit = account_request.owner_unit
    if unit.tier == Tier.THREE:
        first_title = [str(first_signer_label(unit.tier, unit.kind)), _("意见")]
    else:
        first_title = [_("主办单位"), _("意见")]
    if account_request.route.decision == Decision.RECORD:
        final_title = [_("党委宣传部"), _("审核备案"), _("意见")]
    else:
        final_title = [_("党委宣传部"), _("意见")]
    endorsed = decided = None
    for step in account_request.steps.all():
        if step.action == StepAction.ENDORSE:
            endorsed = step
        elif step.action in (StepAction.APPROVE, StepAction.RECORD):
            decided = step
    commitments: dict[str, str] = {
        RequestKind.OPEN: _("同意本新媒体开通运营。"),
        RequestKind.RECORD: _("同意本新媒体报党委宣传部备案。"),
        RequestKind.CHANGE: _("同意本新媒体按上述内容变更。"),
        RequestKind.CLOSE: _("同意本新媒体停办。"),
    }
    return {
        "first_title": first_title,
        "final_title": final_title,
        "commitment": commitments.get(account_request.kind, ""),
        "endorsed": endorsed,
        "decided": decided,
    }


def _common_context(account_request: AccountRequest) -> dict[str, Any]:
    unit = account_request.owner_unit
    values = _account_values(account_request)
    platform = values.get("platform")
    return {
        "account_request": account_request,
        "school_name": _school_name(unit),
        "unit": unit,
        "unit_kind": choice_labels(UnitKind).get(unit.kind, unit.kind),
        "tier_label": choice_labels(Tier).get(unit.tier, ""),
        "parent": unit.parent if unit.tier == Tier.THREE else None,
        "account": values,
        "platform": platform,
        "team_change_days": settings.CAMPUSMEDIA_TEAM_CHANGE_DAYS,
    }


# --- The papers -----------------------------------------------------------------------------------


def render_approval_form(account_request: AccountRequest, *, masked: bool = False) -> bytes:
    """The 校园新媒体审批（备案）表 of a request as PDF (one A4 page for a usual request).

    ``masked`` prints mobile numbers and e-mail addresses masked, for copies that leave the
    propaganda department.
    """
    with translation.override(PRINT_LANGUAGE):
        context = _common_context(account_request)
        values = context["account"]
        platforms = dict(Platform.objects.values_list("code", "name"))
        chosen = values.get("platform")
        context.update(
            {
                "kinds": _ticks(choice_labels(RequestKind).items(), [account_request.kind]),
                "platforms": _ticks(platforms.items(), [chosen.code] if chosen else []),
                "categories": _ticks(
                    choice_labels(ContentCategory).items(), values.get("content_categories") or []
                ),
                "forms": _ticks(
                    choice_labels(ContentForm).items(), values.get("content_forms") or []
                ),
                "verification": choice_labels(Verification).get(values.get("verification"), ""),
                "changes": [c for c in field_changes(account_request) if c.changed],
                "team": _team_rows(account_request, masked=masked),
                "masked": masked,
                **_opinion_boxes(account_request),
            }
        )
    return _write_pdf("approval_form", context)


def render_pledge(account_request: AccountRequest) -> bytes:
    """The 网络信息安全承诺书 for the request's account, to be signed by the unit head and the
    team and sealed by the unit. It names the team but prints none of their contact data."""
    with translation.override(PRINT_LANGUAGE):
        context = _common_context(account_request)
        team = _team_rows(account_request, masked=True)
        context.update(
            {
                "supervisors": [r for r in team if r.role == TeamRole.SUPERVISOR],
                "admins": [r for r in team if r.role == TeamRole.ADMINISTRATOR],
            }
        )
    return _write_pdf("pledge", context)
