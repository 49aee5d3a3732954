"""What every spreadsheet the application writes shares (SECURITY.md, Exports)."""

from __future__ import annotations

from typing import Any

# Text starting with these is a formula (or DDE) to a spreadsheet; a leading ' makes it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_value(value: Any) -> Any:
    """Text a spreadsheet would evaluate, kept as text; everything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
