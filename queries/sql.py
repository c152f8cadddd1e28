"""SQL helpers every subject shares: statements built once per shape, a list of values as a table, and the
aggregates that PostgreSQL and SQLite spell differently."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import ARRAY, String, Text, bindparam, cast, func, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

T = TypeVar("T")

# Building a page query with SQLAlchemy (a union of rollup levels, a dozen expressions) costs more than the
# database takes to answer it; a statement of the same shape is the same SQL with other bound values, so it is
# built on first use and kept for the process (a handful of shapes per query).
_STATEMENTS: dict[Hashable, object] = {}
_LOCK = threading.Lock()


def memo_statement(shape: Hashable, build: Callable[[], T]) -> T:
    """The statement `build()` makes for `shape` (everything that changes its SQL), built once per process."""
    found = _STATEMENTS.get(shape)
    if found is None:
        made = build()
        with _LOCK:
            found = _STATEMENTS.setdefault(shape, made)
    return found  # type: ignore[return-value]


_LISTED_PG = text("SELECT unnest(CAST(:listed_values AS text[])) AS k")
_LISTED_SQLITE = text("SELECT value AS k FROM json_each(:listed_values)")


def listed_table(conn: Connection, values: list[str], *, name: str = "listed") -> Any:
    """The values as a subquery `name(k)` bound as a single array (PostgreSQL) or JSON text (SQLite) parameter,
    so the statement text, and its compiled form that SQLAlchemy caches, does not depend on how many there are."""
    if conn.dialect.name == "postgresql":
        bound = _LISTED_PG.bindparams(bindparam("listed_values", value=list(values), unique=True))
    else:
        bound = _LISTED_SQLITE.bindparams(bindparam("listed_values", value=json.dumps(list(values)), unique=True))
    return bound.columns(k=String).subquery(name)


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
