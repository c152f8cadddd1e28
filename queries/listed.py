"""A list of values as a one-column table from one bound parameter."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import String, bindparam, text
from sqlalchemy.engine import Connection

_PG = text("SELECT unnest(CAST(:listed_values AS text[])) AS k")
_SQLITE = text("SELECT value AS k FROM json_each(:listed_values)")


def listed_table(conn: Connection, values: list[str], *, name: str = "listed") -> Any:
    """The values as a subquery `name(k)` bound as a single array (PostgreSQL) or JSON text (SQLite) parameter,
    so the statement text, and its compiled form that SQLAlchemy caches, does not depend on how many there are."""
    if conn.dialect.name == "postgresql":
        bound = _PG.bindparams(bindparam("listed_values", value=list(values), unique=True))
    else:
        bound = _SQLITE.bindparams(bindparam("listed_values", value=json.dumps(list(values)), unique=True))
    return bound.columns(k=String).subquery(name)
