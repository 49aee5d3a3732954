"""The papers of the annual review: the 年检表 of one account, the campaign report for the party
committee (both PDF, through approvals.pdf) and the results as an xlsx workbook.

The PDFs reuse ``approvals.pdf._write_pdf``: the project's own templates (``templates/print/``)
rendered with Django's autoescaping, stylesheets parsed once per process, a URL fetcher that
serves only the static files and ``data:`` URLs, and the page limit (SECURITY.md, "Exports,
imports, PDFs"). The workbook holds only the forms the exporter may see, no contact data, and
escapes text that a spreadsheet would read as a formula.
"""

from __future__ import annotations

import datetime
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from annual_review.charts import stacked_bars
from annual_review.choices import Outcome, ReviewState
from annual_review.models import ReviewCampaign, ReviewForm
from annual_review.permissions import visible_forms
from annual_review.selectors import (
    CampaignProgress,
    ProgressRow,
    TeamLine,
    campaign_progress,
    change_lines,
    registry_view,
)
from approvals.models import TeamChangeEvent
from approvals.pdf import PRINT_LANGUAGE, Tick, _school_name, _write_pdf
from approvals.routing import first_signer_label
from approvals.services import data_to_fields
from campusmedia.auditlog import audit_record
from campusmedia.choices import TIER_OF_KIND, TeamRole, Tier, choice_labels
from campusmedia.models import Unit, User
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import Access
from campusmedia.spreadsheets import cell_value

__all__ = ["render_campaign_report", "render_review_form", "results_xlsx"]

# States in which the form carries what the unit confirmed (``snapshot``); before that, and
# while it is back with the unit for changes, the registry is what the form shows.
# The paper form has one row for the supervising leader and two for administrators.
_ADMIN_ROWS = 2
# A chart of units is split into parts of at most this many bars (one part fits a page).
_CHART_ROWS = 24
# Above this many units the report leaves the unit charts out: the table says the same.
_CHART_UNITS = 120


def _date_text(value: datetime.date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def _person_name(user: User | None) -> str:
    """The person's name behind a login (the login name when there is none)."""
    if user is None:
        return ""
    person = getattr(user, "person", None)
    name = person.name if person is not None else user.get_full_name()
    return name or user.get_username()


# --- The 年检表 ---------------------------------------------------------------------------------


def _role_labels() -> dict[str, str]:
    """The roles as the paper form names them (the full label would take two lines)."""
    return {TeamRole.SUPERVISOR: _("分管领导"), TeamRole.ADMINISTRATOR: _("管理员")}


def _team_lines(members: Iterable[Mapping[str, Any]]) -> list[TeamLine]:
    """Supervising leader first, then the administrators, padded to the paper form's rows."""
    roles = _role_labels()
    rows = [
        TeamLine(
            m["role"], roles.get(m["role"], m["role"]), m.get("name") or "", m.get("title") or ""
        )
        for m in members
    ]
    supervisors = [r for r in rows if r.role == TeamRole.SUPERVISOR]
    admins = [r for r in rows if r.role != TeamRole.SUPERVISOR]
    if not supervisors:
        supervisors = [TeamLine(TeamRole.SUPERVISOR, roles[TeamRole.SUPERVISOR])]
    admins += [
        TeamLine(TeamRole.ADMINISTRATOR, roles[TeamRole.ADMINISTRATOR])
        for _i in range(_ADMIN_ROWS - len(admins))
    ]
    return supervisors + admins


def _outcome_ticks(outcome: str) -> list[str]:
    labels = choice_labels(Outcome)
    return [str(Tick(str(labels[value]), value == outcome)) for value in Outcome.values]


def render_review_form(form: ReviewForm) -> bytes:
    """The 年检表 of one account as PDF, laid out like the paper form (one A4 page for a usual
    form): account and team, the year's figures and team changes, the unit's self-assessment and
    plan, and the two opinion boxes with blanks for signature, seal and date."""
    with translation.override(PRINT_LANGUAGE):
        unit = form.owner_unit
        campaign = form.campaign
        registry = registry_view(form)
        values = data_to_fields(registry.values)
        members = [{"role": t.role, "name": t.name, "title": t.title} for t in registry.team]
        from_snapshot = registry.from_snapshot
        changes = change_lines(form, _role_labels())
        late = sum(1 for c in changes if c.is_late)
        if unit.tier == Tier.THREE:
            first_title = [str(first_signer_label(unit.tier, unit.kind)), _("意见")]
        else:
            first_title = [_("主办单位"), _("意见")]
        posts, originals = form.post_count, form.original_post_count
        context = {
            "form": form,
            "campaign": campaign,
            "school_name": _school_name(unit),
            "unit": unit,
            "parent": unit.parent if unit.tier == Tier.THREE else None,
            "tier_label": choice_labels(Tier).get(unit.tier, ""),
            "account": values,
            "platform": values.get("platform"),
            "approval_number": form.account.approval_number,
            "team": _team_lines(members),
            "from_snapshot": from_snapshot,
            "changes": changes,
            "late_changes": late,
            "team_change_days": settings.CAMPUSMEDIA_TEAM_CHANGE_DAYS,
            "original_share": (
                f"{100 * originals / posts:.0f}%" if posts and originals is not None else ""
            ),
            "first_title": first_title,
            "first_signoff": form.route.first_signoff,
            "signed_by": _person_name(form.signed_by) if form.signed_at else "",
            "concluded": form.state == ReviewState.CONCLUDED,
            "concluded_by": _person_name(form.concluded_by) if form.concluded_at else "",
            "outcome_ticks": _outcome_ticks(
                form.outcome if form.state == ReviewState.CONCLUDED else ""
            ),
            "rectify_by": _date_text(form.rectify_by),
        }
    return _write_pdf("review_form", context)


# --- The campaign report -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartPart:
    title: str
    svg: SafeString


# WeasyPrint draws inline SVG apart from the page's CSS: without a font named on the <svg> its text
# falls back to whatever fontconfig offers (two more fonts to embed, and a sans face).
_SVG_FONT = "Noto Serif CJK SC"


def _chunks(rows: Sequence[ProgressRow], size: int) -> list[Sequence[ProgressRow]]:
    """Rows in near-equal parts of at most ``size``."""
    parts = max(1, math.ceil(len(rows) / size))
    step = math.ceil(len(rows) / parts)
    return [rows[i : i + step] for i in range(0, len(rows), step)]


def _unit_charts(
    units: Sequence[ProgressRow], categories: Sequence[tuple[str, str]]
) -> list[ChartPart]:
    """One chart of units per tier, split into page-sized parts."""
    labels = choice_labels(Tier)
    charts: list[ChartPart] = []
    for tier in Tier.values:
        rows = [r for r in units if r.tier == tier]
        if not rows:
            continue
        parts = _chunks(rows, _CHART_ROWS)
        largest = max(r.total for r in rows)
        for number, part in enumerate(parts, start=1):
            title = _("%(tier)s各单位年检进度") % {"tier": labels[tier]}
            if len(parts) > 1:
                title += _("（%(n)s/%(of)s）") % {"n": number, "of": len(parts)}
            widest = max(len(r.label) for r in part)
            charts.append(
                ChartPart(
                    title=title,
                    svg=stacked_bars(
                        part,
                        categories,
                        title=title,
                        width=680,
                        label_width=min(max(120, 13 * widest + 16), 260),
                        largest=largest,  # the parts of a tier share one scale
                        font_family=_SVG_FONT,
                    ),
                )
            )
    return charts


@dataclass(frozen=True)
class OverdueLine:
    form: ReviewForm
    state_label: str
    deadline: datetime.date
    days: int


def _overdue_lines(forms: Iterable[ReviewForm], today: datetime.date) -> list[OverdueLine]:
    """Overdue forms with the date they missed: the rectify date of a "rectify" conclusion, the
    campaign's due date otherwise."""
    states = choice_labels(ReviewState)
    lines = []
    for form in forms:
        if form.state == ReviewState.CONCLUDED and form.rectify_by is not None:
            deadline, label = form.rectify_by, _("逾期未整改")
        else:
            deadline, label = form.campaign.due_on, str(states.get(form.state, form.state))
        lines.append(OverdueLine(form, label, deadline, (today - deadline).days))
    return lines


def _key_figures(progress: CampaignProgress) -> list[tuple[str, int]]:
    total = progress.total
    outcomes = choice_labels(Outcome)
    return [
        (_("应检账号"), total.total),
        (_("已报送"), total.answered),
        (_("已出结论"), total.concluded),
        *((str(outcomes[o]), total.counts[o]) for o in Outcome.values),
        (_("逾期"), progress.overdue_count),
        (_("责令注销未办结"), len(progress.open_orders)),
        (_("零报告单位"), progress.zero_reports),
    ]


def render_campaign_report(campaign: ReviewCampaign, access: Access) -> bytes:
    """The campaign report for the party committee (PDF): totals, progress per tier and per unit
    as tables and charts, the overdue forms and the open close orders, limited to what
    ``access`` may see."""
    with translation.override(PRINT_LANGUAGE):
        today = timezone.localdate()
        progress = campaign_progress(campaign, access)
        categories = progress.categories
        tier_title = _("各级平台年检进度")
        show_unit_charts = len(progress.units) <= _CHART_UNITS
        short_tiers: dict[int, str] = {
            Tier.ONE: _("一级"),
            Tier.TWO: _("二级"),
            Tier.THREE: _("三级"),
        }
        school = Unit.objects.filter(parent__isnull=True).order_by("sort_order", "pk").first()
        context = {
            "campaign": campaign,
            "school_name": school.name if school is not None else "",
            "progress": progress,
            "categories": categories,
            "tier_chart": stacked_bars(
                progress.tiers, categories, title=tier_title, width=680, font_family=_SVG_FONT
            ),
            "tier_chart_title": tier_title,
            "unit_charts": _unit_charts(progress.units, categories) if show_unit_charts else [],
            "unit_charts_left_out": not show_unit_charts,
            "key_figures": _key_figures(progress),
            "unit_rows": [(row, short_tiers.get(row.tier or 0, "")) for row in progress.units],
            "overdue": _overdue_lines(progress.overdue, today),
            "overdue_more": progress.overdue_count - len(progress.overdue),
            "today": today,
        }
    return _write_pdf("review_report", context)


# --- The results workbook ------------------------------------------------------------------------

# (header, width in characters, the row key)
_COLUMNS: tuple[tuple[Promise, int, str], ...] = (
    (gettext_lazy("主办单位"), 22, "unit"),
    (gettext_lazy("平台级别"), 10, "tier"),
    (gettext_lazy("账号名称"), 22, "account"),
    (gettext_lazy("媒体平台"), 12, "platform"),
    (gettext_lazy("账号ID"), 16, "account_ident"),
    (gettext_lazy("状态"), 12, "state"),
    (gettext_lazy("结论"), 10, "outcome"),
    (gettext_lazy("粉丝量"), 10, "follower_count"),
    (gettext_lazy("全年发布数"), 10, "post_count"),
    (gettext_lazy("其中原创数"), 10, "original_post_count"),
    (gettext_lazy("安全事件与违规（次）"), 10, "incident_count"),
    (gettext_lazy("安全事件与违规情况"), 30, "incidents"),
    (gettext_lazy("参加培训情况"), 30, "training"),
    (gettext_lazy("管理队伍变更逾期报备（次）"), 12, "late_changes"),
    (gettext_lazy("提交日期"), 12, "submitted_on"),
    (gettext_lazy("签署日期"), 12, "signed_on"),
    (gettext_lazy("结论日期"), 12, "concluded_on"),
    (gettext_lazy("整改期限"), 12, "rectify_by"),
    (gettext_lazy("宣传部意见"), 30, "conclusion"),
)


def _local_date(value: datetime.datetime | None) -> datetime.date | None:
    return timezone.localdate(value) if value is not None else None


def _late_changes(forms: QuerySet[ReviewForm], year: int) -> dict[int, int]:
    """Per account of ``forms``: the year's team changes filed late or still unfiled after their
    deadline (TeamChangeEvent.is_late, in one grouped query)."""
    today = timezone.localdate()
    late = Q(filed_at__isnull=False, filed_at__date__gt=F("due_on")) | Q(
        filed_at__isnull=True, due_on__lt=today
    )
    rows = (
        TeamChangeEvent.objects.filter(
            account_id__in=forms.values("account_id"), happened_on__year=year
        )
        .filter(late)
        .order_by()
        .values("account_id")
        .annotate(n=Count("id"))
    )
    return {row["account_id"]: row["n"] for row in rows}


def results_xlsx(
    campaign: ReviewCampaign,
    access: Access,
    actor: User,
    request: HttpRequest | None = None,
) -> bytes:
    """The campaign's results as an xlsx workbook: one row per form ``access`` may see (the same
    few queries whatever the number of forms: late team changes grouped by account, then the
    rows), and one audit row."""
    with translation.override(PRINT_LANGUAGE):
        forms = visible_forms(access, ReviewForm.objects.filter(campaign=campaign))
        late = _late_changes(forms, campaign.year)
        records = forms.values(
            "account_id",
            "state",
            "outcome",
            "follower_count",
            "post_count",
            "original_post_count",
            "incident_count",
            "incidents",
            "training",
            "submitted_at",
            "signed_at",
            "concluded_at",
            "rectify_by",
            "conclusion",
            unit_name=F("owner_unit__name"),
            unit_kind=F("owner_unit__kind"),
            account_name=F("account__name"),
            account_ident=F("account__account_id"),
            platform_name=F("account__platform__name"),
        )
        tiers = choice_labels(Tier)
        states = choice_labels(ReviewState)
        outcomes = choice_labels(Outcome)

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=_("%(year)s年度年检结果") % {"year": campaign.year})
        sheet.freeze_panes = "A2"
        for index, (_header, width, _key) in enumerate(_COLUMNS, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        header_font = Font(bold=True)
        header_fill = PatternFill("solid", fgColor="DDE4EE")
        header_border = Border(bottom=Side(style="thin"))
        wrap = Alignment(wrap_text=True, vertical="center")
        header = []
        for title, _width, _key in _COLUMNS:
            cell = WriteOnlyCell(sheet, value=str(title))
            cell.font, cell.fill, cell.border, cell.alignment = (
                header_font,
                header_fill,
                header_border,
                wrap,
            )
            header.append(cell)
        sheet.append(header)

        count = 0
        # Streamed: 150,000 forms would otherwise sit in memory twice (rows and cells).
        for record in records.iterator(chunk_size=2000):
            concluded = record["state"] == ReviewState.CONCLUDED
            row = {
                **record,
                "unit": record["unit_name"],
                "account": record["account_name"],
                "platform": record["platform_name"],
                "tier": tiers.get(TIER_OF_KIND.get(record["unit_kind"], 0), ""),
                "state": states.get(record["state"], record["state"]),
                "outcome": outcomes.get(record["outcome"], "") if concluded else "",
                "late_changes": late.get(record["account_id"], 0),
                "submitted_on": _local_date(record["submitted_at"]),
                "signed_on": _local_date(record["signed_at"]),
                "concluded_on": _local_date(record["concluded_at"]) if concluded else None,
                "rectify_by": record["rectify_by"] if concluded else None,
                "conclusion": record["conclusion"] if concluded else "",
            }
            sheet.append([cell_value(row[key]) for _header, _width, key in _COLUMNS])
            count += 1

        buffer = io.BytesIO()
        workbook.save(buffer)
    audit_record(
        action=AuditAction.EXPORT,
        actor=actor,
        request=request,
        obj=campaign,
        detail={"what": "review_results", "year": campaign.year, "rows": count},
    )
    return buffer.getvalue()
