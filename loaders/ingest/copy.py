"""PostgreSQL bulk path for the ingest pipeline: COPY a batch straight into failure_matches when none of its rows
can be stored yet, else into a temporary stage and then one INSERT ... SELECT.

A multi-row INSERT of 2,000 rows x 26 columns spends most of its time parsing parameters; COPY does not.
The INSERT ... SELECT keeps the pipeline's semantics: ON CONFLICT DO NOTHING on the primary key (id, created_at)
of the partitioned table, RETURNING the ids actually stored, all inside the caller's transaction. An id stored
with another created_at does not conflict: the pipeline removes client ids already stored beforehand
(queries.failures.partitions.lock_and_find_ids).
"""
from __future__ import annotations

import io
import json
import uuid
import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg2
import psycopg2.errors
from psycopg2 import sql
from sqlalchemy import Column, MetaData, Table, select
from sqlalchemy.dialects.postgresql import dialect as _pg_dialect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from core.schema import failure_matches

COLUMNS = [c.name for c in failure_matches.c]
COPY_READ_MIN = 8192
# The stage lives as long as a pooled connection; its name carries the column list, so a connection that
# outlives a migration never copies into a stage of the old shape.
STAGE_NAME = f"failcat_ingest_stage_{zlib.crc32(','.join(COLUMNS).encode()):08x}"
_stage = Table(STAGE_NAME, MetaData(), *[Column(c.name, c.type) for c in failure_matches.c])
# Constant statements built from the schema's own column names (no outside input reaches them).
# Composed with psycopg2.sql from the schema's own names (no outside input reaches them).
_COLUMN_LIST = sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS)
_CREATE_STAGE = sql.SQL("CREATE TEMPORARY TABLE IF NOT EXISTS {} (LIKE failure_matches INCLUDING DEFAULTS) "
                        "ON COMMIT DELETE ROWS").format(sql.Identifier(STAGE_NAME))
_COPY = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(STAGE_NAME), _COLUMN_LIST)
_COPY_DIRECT = sql.SQL("COPY failure_matches ({}) FROM STDIN").format(_COLUMN_LIST)
_INSERT = (
    pg_insert(failure_matches)
    .from_select(COLUMNS, select(*[_stage.c[n] for n in COLUMNS]))
    .on_conflict_do_nothing(index_elements=["id", "created_at"])  # the partitioned table's primary key
    .returning(failure_matches.c.id)
)


def _escape(value: str) -> str:
    # COPY text format: backslash, newline, carriage return and tab are the only characters to escape.
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    return value


def _field(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return _escape(json.dumps(value, default=str))
    return str(value)  # int, float, uuid


def _text_or_null(value: str | None) -> str:
    return "\\N" if value is None else _escape(value)


# Text columns (most of a row) skip the type tests; the rest go through _field.
_TEXT_TYPES = ("VARCHAR", "TEXT")
_CONVERTERS = [
    (c.name, _text_or_null if str(c.type.compile(dialect=_pg_dialect())).split("(")[0] in _TEXT_TYPES else _field)
    for c in failure_matches.c
]


def copy_text(rows: Iterable[dict[str, Any]]) -> io.StringIO:
    """failure_matches rows as COPY text-format lines in COLUMNS order."""
    buf = io.StringIO()
    write = buf.write
    converters = _CONVERTERS
    for row in rows:
        write("\t".join([conv(row[name]) for name, conv in converters]))
        write("\n")
    buf.seek(0)
    return buf


def copy_insert(conn: Connection, rows: list[dict[str, Any]], text: io.StringIO | None = None, *,
                fresh: bool = False) -> set[uuid.UUID]:
    """Insert rows (skipping (id, created_at) already stored) in the caller's transaction; return the ids stored.

    `text` is copy_text(rows) when the caller prepared it already (ingest does, while the previous batch is
    written). `fresh` says no row can be stored yet (ids looked up under lock, or generated here): they are
    copied straight into failure_matches, and only if one was stored after all through the stage."""
    if fresh:
        stored = _copy_fresh(conn, rows, text)
        if stored is not None:
            return stored
    buf = _rewound(rows, text)
    with conn.connection.dbapi_connection.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(_CREATE_STAGE)
        cur.copy_expert(_COPY, buf, size=_read_size(buf))
    # ON COMMIT DELETE ROWS empties the stage at commit. A second call in the same transaction would see the
    # first call's rows again, but they conflict on (id, created_at) and are not RETURNed, so the answer stays right.
    ids = conn.execute(_INSERT).scalars().all()
    return {i if isinstance(i, uuid.UUID) else uuid.UUID(str(i)) for i in ids}


def _copy_fresh(conn: Connection, rows: list[dict[str, Any]], text: io.StringIO | None) -> set[uuid.UUID] | None:
    """COPY into failure_matches itself (no stage, no INSERT ... SELECT: ~20% of the batch's write) under a
    savepoint; None when a row was stored already (the savepoint is rolled back)."""
    buf = _rewound(rows, text)
    savepoint = conn.begin_nested()
    try:
        with conn.connection.dbapi_connection.cursor() as cur:  # type: ignore[union-attr]
            cur.copy_expert(_COPY_DIRECT, buf, size=_read_size(buf))
    except psycopg2.errors.UniqueViolation:
        savepoint.rollback()
        return None
    except psycopg2.Error as exc:
        savepoint.rollback()
        # As SQLAlchemy's own errors, so callers see what an execute() would raise (a missing partition is an
        # IntegrityError the pipeline answers by creating the week).
        raise DBAPIError.instance("COPY failure_matches", None, exc, psycopg2.Error) from exc
    savepoint.commit()
    return {r["id"] if isinstance(r["id"], uuid.UUID) else uuid.UUID(str(r["id"])) for r in rows}


def _rewound(rows: list[dict[str, Any]], text: io.StringIO | None) -> io.StringIO:
    if text is None:
        return copy_text(rows)
    text.seek(0)  # a retried insert (a partition created meanwhile) sends the same text again
    return text


def _read_size(buf: io.StringIO) -> int:
    # One read of the whole text: psycopg2 reads 8 kB at a time by default, and in the ingest writer thread every
    # read waits for the GIL held by the thread matching the next batch (a batch took ~100 ms).
    return max(COPY_READ_MIN, len(buf.getvalue()))
