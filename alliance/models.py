"""Filled by a later issue; registered now so the layout and migrations stay stable."""
