"""A JSON array aggregate for SQLite and PostgreSQL.

Django 5.2 has no portable one (``JSONBAgg`` is PostgreSQL's only). The registry export uses it
in a correlated subquery to carry each account's current team in the same row as the account,
so 3,000 accounts and their teams come back in one query.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, JSONField


class JSONGroupArray(Aggregate):
    """``json_group_array(expr)`` on SQLite, ``jsonb_agg(expr)`` on PostgreSQL: the group's
    values as one JSON array (objects built with ``JSONObject`` stay objects)."""

    function = "JSON_GROUP_ARRAY"
    name = "JSONGroupArray"
    output_field = JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra_context)
