"""The statistics page's charts, drawn on the server as inline SVG: no script, no library.

Two shapes: stacked horizontal bars (one bar per tier, platform or year, one colour per status or
outcome) and columns per month (requests submitted beside those decided, the decided ones split
into approved and rejected). The colours follow ``annual_review.charts``: calm, apart in print and
for common colour-vision deficiencies, the same meaning everywhere (green good, amber attention,
red bad, grey done or not yet). Every label is escaped; the page shows the same figures in a
table beside each chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from annual_review.choices import Outcome
from campusmedia.choices import AccountStatus, choice_labels
from stats import selectors

BLUE = "#4e79a7"
LIGHT_BLUE = "#8fb3d9"
GREEN = "#59a14f"
AMBER = "#f2a93b"
RED = "#c8453b"
GREY = "#c9ced6"
INK = "#222"
MUTED_INK = "#555"


@dataclass(frozen=True)
class Series:
    """One category of a chart: its key in the figures, its legend label and its colour."""

    key: str
    label: str
    colour: str
    # Light fills carry dark numbers, dark fills white ones.
    light: bool = False

    @property
    def ink(self) -> str:
        return INK if self.light else "#fff"


@dataclass(frozen=True)
class Bar:
    label: str
    values: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.values.values())


def _open(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        f'class="chart" font-size="12">',
        f"<title>{escape(title)}</title>",
    ]


def _text_width(text: str) -> int:
    """Roughly how wide ``text`` is at 12px: a Chinese character a full em, the rest 7px."""
    return sum(12 if ord(ch) > 0x2E80 else 7 for ch in text)


def _legend_lines(series: Sequence[Series], width: int) -> list[list[tuple[int, Series]]]:
    """Swatches placed one after another, on a new line when the next would pass ``width``."""
    lines: list[list[tuple[int, Series]]] = [[]]
    x = 0
    for item in series:
        item_w = 17 + _text_width(item.label) + 18
        if lines[-1] and x + item_w > width:
            lines.append([])
            x = 0
        lines[-1].append((x, item))
        x += item_w
    return lines


def _legend(series: Sequence[Series], *, x0: int, y0: int, width: int) -> list[str]:
    parts = []
    for row, line in enumerate(_legend_lines(series, width)):
        ly = y0 + 22 * row
        for dx, item in line:
            lx = x0 + dx
            parts.append(
                f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{item.colour}"/>'
                f'<text x="{lx + 17}" y="{ly + 11}" fill="{INK}">{escape(item.label)}</text>'
            )
    return parts


def _legend_height(series: Sequence[Series], width: int) -> int:
    return 22 * len(_legend_lines(series, width))


def stacked_bars(
    bars: Sequence[Bar],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 640,
    label_width: int = 120,
) -> SafeString:
    """One horizontal bar per row, stacked by ``series``, its length the row's share of the
    longest bar; the count is written in each part wide enough for it and the total after."""
    bar_h, gap, top = 22, 10, 8
    scale_w = width - label_width - 56
    legend_h = _legend_height(series, scale_w)
    height = top + max(len(bars), 1) * (bar_h + gap) + legend_h + 8
    largest = max((bar.total for bar in bars), default=0) or 1
    parts = _open(width, height, title)
    y = top
    for bar in bars:
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_h - 6}" text-anchor="end" '
            f'fill="{INK}">{escape(bar.label)}</text>'
        )
        x = float(label_width)
        for item in series:
            n = bar.values.get(item.key, 0)
            if not n:
                continue
            w = scale_w * n / largest
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{item.colour}"><title>{escape(bar.label)} · {escape(item.label)} '
                f"{n}</title></rect>"
            )
            if w >= 8 * len(str(n)) + 6:
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + bar_h - 6}" text-anchor="middle" '
                    f'fill="{item.ink}">{n}</text>'
                )
            x += w
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + bar_h - 6}" fill="{MUTED_INK}">{bar.total}</text>'
        )
        y += bar_h + gap
    if not bars:
        y += bar_h + gap
    parts.extend(_legend(series, x0=label_width, y0=y + 4, width=scale_w))
    parts.append("</svg>")
    return mark_safe("".join(parts))


def nice_step(largest: int, lines: int = 4) -> int:
    """A whole step of 1, 2 or 5 times a power of ten giving at most ``lines`` grid lines."""
    if largest <= lines:
        return 1
    raw = largest / lines
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if multiple * magnitude >= raw:
            return int(multiple * magnitude)
    return int(10 * magnitude)  # pragma: no cover (10 always reaches raw)


def grouped_columns(
    groups: Sequence[tuple[str, str, Mapping[str, int]]],
    stacks: Sequence[Sequence[Series]],
    *,
    title: str,
    width: int = 720,
    height: int = 260,
) -> SafeString:
    """Columns per group (a month): for each group ``(label, second line, values)`` one column
    per entry of ``stacks``, each column a stack of its series. Grid lines on a whole-number
    scale, the column's total above it, the label (and a second line, such as the year, where
    one is given) below."""
    left, right, top, axis_h = 40, 8, 12, 36
    plot_w = width - left - right
    legend_h = _legend_height([s for stack in stacks for s in stack], plot_w)
    plot_h = height - top - axis_h
    total_h = height + legend_h + 6
    group_w = plot_w / max(len(groups), 1)
    column_w = min(18.0, (group_w - 10) / max(len(stacks), 1))
    inner_gap = 3.0
    cluster_w = len(stacks) * column_w + (len(stacks) - 1) * inner_gap

    largest = max(
        (sum(values.get(s.key, 0) for s in stack) for _l, _s, values in groups for stack in stacks),
        default=0,
    )
    step = nice_step(largest)
    ceiling = max(step * math.ceil(largest / step), step)
    base = top + plot_h

    def y_of(value: float) -> float:
        return base - plot_h * value / ceiling

    parts = _open(width, total_h, title)
    for tick in range(0, ceiling + 1, step):
        y = y_of(tick)
        colour = "#9aa3ad" if tick == 0 else "#e3e6ea"
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED_INK}">'
            f"{tick}</text>"
        )
    for index, (label, second, values) in enumerate(groups):
        gx = left + index * group_w
        x = gx + (group_w - cluster_w) / 2
        for stack in stacks:
            running = 0
            for item in stack:
                n = values.get(item.key, 0)
                if n:
                    y_top, y_bottom = y_of(running + n), y_of(running)
                    parts.append(
                        f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{column_w:.1f}" '
                        f'height="{y_bottom - y_top:.1f}" fill="{item.colour}">'
                        f"<title>{escape(label)} · {escape(item.label)} {n}</title></rect>"
                    )
                running += n
            if running:
                parts.append(
                    f'<text x="{x + column_w / 2:.1f}" y="{y_of(running) - 4:.1f}" '
                    f'text-anchor="middle" font-size="11" fill="{MUTED_INK}">{running}</text>'
                )
            x += column_w + inner_gap
        cx = gx + group_w / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{base + 16}" text-anchor="middle" fill="{INK}">'
            f"{escape(label)}</text>"
        )
        if second:
            parts.append(
                f'<text x="{cx:.1f}" y="{base + 31}" text-anchor="middle" font-size="11" '
                f'fill="{MUTED_INK}">{escape(second)}</text>'
            )
    series = [s for stack in stacks for s in stack]
    parts.extend(_legend(series, x0=left, y0=height + 2, width=plot_w))
    parts.append("</svg>")
    return mark_safe("".join(parts))


# --- The page's charts ----------------------------------------------------------------------------


def status_series() -> list[Series]:
    labels = choice_labels(AccountStatus)
    colours: dict[str, tuple[str, bool]] = {
        AccountStatus.APPROVED: (LIGHT_BLUE, True),
        AccountStatus.ACTIVE: (GREEN, False),
        AccountStatus.SUSPENDED: (AMBER, True),
        AccountStatus.ORDERED_TO_CLOSE: (RED, False),
        AccountStatus.CLOSED: (GREY, True),
    }
    return [Series(code, labels[code], *colours[code]) for code in AccountStatus.values]


def outcome_series() -> list[Series]:
    colours: dict[str, tuple[str, bool]] = {
        Outcome.PASS: (GREEN, False),
        Outcome.RECTIFY: (AMBER, True),
        Outcome.FAIL: (RED, False),
        selectors.NOT_CONCLUDED: (GREY, True),
    }
    return [Series(key, str(label), *colours[key]) for key, label in selectors.outcome_keys()]


def request_stacks() -> list[list[Series]]:
    """Submitted in one column, decided (approved and rejected) stacked in the next."""
    return [
        [Series("submitted", _("提交"), BLUE)],
        [Series("approved", _("通过"), GREEN), Series("rejected", _("未通过"), RED)],
    ]


def _matrix_bars(matrix: selectors.Matrix, *, skip_empty: bool = False) -> list[Bar]:
    return [Bar(row.label, row.counts) for row in matrix.rows if row.total or not skip_empty]


def _month_groups(months: Sequence[selectors.MonthRow]) -> list[tuple[str, str, dict[str, int]]]:
    groups = []
    for index, row in enumerate(months):
        year = str(row.month.year) if index == 0 or row.month.month == 1 else ""
        label = _("%(month)s月") % {"month": row.month.month}
        values = {"submitted": row.submitted, "approved": row.approved, "rejected": row.rejected}
        groups.append((label, year, values))
    return groups


def overview_charts(data: selectors.Overview) -> dict[str, SafeString]:
    statuses = status_series()
    return {
        "tier": stacked_bars(
            _matrix_bars(data.by_tier), statuses, title=_("各级平台账号数（按状态）")
        ),
        "platform": stacked_bars(
            _matrix_bars(data.by_platform, skip_empty=True),
            statuses,
            title=_("各平台账号数（按状态）"),
        ),
        "requests": grouped_columns(
            _month_groups(data.requests.months),
            request_stacks(),
            title=_("近12个月每月提交和作出决定的申请数"),
        ),
        "outcomes": stacked_bars(
            [Bar(_("%(year)s年度") % {"year": row.year}, row.counts) for row in data.outcomes],
            outcome_series(),
            title=_("各年度年检结论"),
        ),
    }
