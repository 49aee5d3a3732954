"""Benchmarks for ``manage.py bench`` (figures as ratios against same-run baselines)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def measure(repeat: int) -> dict[str, Any]:
    return {}


def print_figures(write: Callable[[str], Any], figures: dict[str, Any]) -> None:
    return None
