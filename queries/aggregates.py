"""Aggregates that differ between PostgreSQL and SQLite, written once for both."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ARRAY, String, Text, cast, func
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection


def list_agg(conn: Connection, value: Any) -> Any:
    """Aggregate: the group's values as a list (read it with as_list). Two list_agg of one query list the rows
    in the same order."""
    if conn.dialect.name == "postgresql":
        return func.array_agg(value)
    return func.json_group_array(value)


def as_list(value: Any) -> list[Any]:
    """A list_agg result as a Python list (SQLite returns JSON text)."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


def latest_message(conn: Connection, last_at: Any, last_message: Any) -> Any:
    """Aggregate: the last_message of the row with the latest last_at (the greatest message on a tie)."""
    if conn.dialect.name == "postgresql":
        ordered = aggregate_order_by(last_message, last_at.desc().nulls_last(), last_message.desc())
        return func.array_agg(ordered, type_=ARRAY(Text))[1]
    # SQLite stores timestamps as fixed-width 26-character text: the greatest time || message is the latest.
    return func.substr(func.max(cast(last_at, String).concat(last_message)), 27)
