"""Charts drawn on the server as SVG: the same markup in the page and in the report PDF.

No script and no chart library: a stacked horizontal bar per row, one colour per progress
category, with the counts written in the bars and a legend. Labels are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from annual_review.choices import Progress
from annual_review.selectors import ProgressRow

# Calm colours that stay apart in print and for common colour-vision deficiencies.
COLOURS: dict[str, str] = {
    Progress.NOT_STARTED: "#c9ced6",
    Progress.IN_PROGRESS: "#8fb3d9",
    Progress.SUBMITTED: "#4e79a7",
    Progress.SIGNED: "#2f4b7c",
    Progress.PASS: "#59a14f",
    Progress.RECTIFY: "#f2a93b",
    Progress.FAIL: "#c8453b",
}
_LIGHT = {Progress.NOT_STARTED, Progress.IN_PROGRESS, Progress.RECTIFY}


def stacked_bars(
    rows: Sequence[ProgressRow],
    categories: Sequence[tuple[str, str]],
    *,
    title: str,
    width: int = 640,
    label_width: int = 120,
    largest: int | None = None,
    font_family: str = "",
) -> SafeString:
    """One bar per row, its length the row's share of the largest row (or of ``largest``, so
    that charts split into parts share one scale). ``font_family`` names the font on the root
    element, for renderers that do not pass the page's CSS into inline SVG (WeasyPrint)."""
    bar_h, gap, top = 22, 10, 8
    legend_h = 22 * ((len(categories) + 3) // 4)
    height = top + len(rows) * (bar_h + gap) + legend_h + 8
    scale_w = width - label_width - 56
    largest = largest or max((r.total for r in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        f'class="chart" font-size="12"'
        + (f' font-family="{escape(font_family)}"' if font_family else "")
        + ">",
        f"<title>{escape(title)}</title>",
    ]
    y = top
    for row in rows:
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_h - 6}" text-anchor="end" '
            f'fill="#222">{escape(row.label)}</text>'
        )
        x = float(label_width)
        for key, label in categories:
            n = row.counts.get(key, 0)
            if not n:
                continue
            w = scale_w * n / largest
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{COLOURS.get(key, "#999")}"><title>{escape(label)} {n}</title></rect>'
            )
            if w >= 22:
                ink = "#222" if key in _LIGHT else "#fff"
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + bar_h - 6}" text-anchor="middle" '
                    f'fill="{ink}">{n}</text>'
                )
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + bar_h - 6}" fill="#555">{row.total}</text>')
        y += bar_h + gap
    y += 4
    for i, (key, label) in enumerate(categories):
        lx = label_width + (i % 4) * (scale_w // 4 + 10)
        ly = y + 22 * (i // 4)
        parts.append(
            f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{COLOURS.get(key, "#999")}"/>'
            f'<text x="{lx + 17}" y="{ly + 11}" fill="#222">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
