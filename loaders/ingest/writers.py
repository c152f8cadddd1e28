"""How a batch of failure rows reaches failure_matches on each engine: the insert, in one transaction with
whatever the pipeline records beside it (`record`: rollups, signatures), returning the rows actually stored.

Either engine stores a row only when its id is new; a row whose id came twice in the batch is stored once (its
first occurrence). RETURNING lists exactly the rows a statement inserted (ON CONFLICT DO NOTHING skips the rest),
which is race-free against a concurrent replay of the same ids and lets SQLAlchemy send one multi-row VALUES.
"""
from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.schema import failure_matches
from loaders.ingest.copy import copy_insert, copy_text
from queries.failures.partitions import ensure_weeks, forget_known, is_missing_partition, lock_and_find_ids, weeks_of

Row = dict[str, Any]
Record = Callable[[Connection, list[Row]], None]  # called in the insert's transaction with the rows stored
COPY_MIN_ROWS = 200  # below this a multi-row INSERT is as fast as COPY plus the stage round trips


def first_stored(rows: list[Row], inserted: Iterable[uuid.UUID]) -> list[Row]:
    """The rows whose id was inserted, each id once (its first row in the batch)."""
    left = set(inserted)
    fresh = []
    for row in rows:
        if row["id"] in left:
            left.discard(row["id"])
            fresh.append(row)
    return fresh


class SqliteWriter:
    """SQLite: the primary key is id, so the insert itself answers which ids are new."""

    _insert = (sqlite_insert(failure_matches).on_conflict_do_nothing(index_elements=["id"])
               .returning(failure_matches.c.id))

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def prepare(self, rows: list[Row]) -> None:
        """Nothing to prepare ahead on SQLite."""
        return None

    def write(self, rows: list[Row], *, check_ids: set[uuid.UUID] | None, prepared: Any, record: Record) -> list[Row]:
        """Insert the rows not stored yet and record them, in one transaction; returns the rows stored."""
        with self.engine.begin() as conn:
            fresh = first_stored(rows, conn.execute(self._insert, rows).scalars()) if rows else []
            if fresh:
                record(conn, fresh)
        return fresh


@dataclass(frozen=True)
class PostgresBatch:
    """What a PostgreSQL write reuses, made while the previous batch is written: the weeks the rows need and,
    for a big batch, its COPY text."""

    weeks: set[datetime]
    copy: io.StringIO | None


class PostgresWriter:
    """PostgreSQL: failure_matches is partitioned by week, its key is (id, created_at).

    The rows' weekly partitions are made first (there is no default partition). An id sent again with another
    occurred_at would not conflict on (id, created_at), so the ids a batch may repeat (`check_ids`) are looked
    up first under advisory locks. Big batches go by COPY (queries are parsed parameters, COPY is not)."""

    _insert = (pg_insert(failure_matches).on_conflict_do_nothing(index_elements=["id", "created_at"])
               .returning(failure_matches.c.id))

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def prepare(self, rows: list[Row]) -> PostgresBatch:
        """The weeks the rows need and, for a big batch, its COPY text."""
        return PostgresBatch(weeks_of(r["created_at"] for r in rows),
                             copy_text(rows) if len(rows) >= COPY_MIN_ROWS else None)

    def write(self, rows: list[Row], *, check_ids: set[uuid.UUID] | None, prepared: PostgresBatch | None,
              record: Record) -> list[Row]:
        """Insert the rows not stored yet and record them, in one transaction; returns the rows stored."""
        batch = prepared or self.prepare(rows)
        ensure_weeks(self.engine, batch.weeks)  # cached per process
        try:
            return self._write(rows, check_ids, batch, record)
        except IntegrityError as exc:
            if not is_missing_partition(exc):
                raise
            forget_known(self.engine)  # retention dropped a cached week meanwhile: create it again
            ensure_weeks(self.engine, batch.weeks)
            return self._write(rows, check_ids, batch, record)

    def _write(self, rows: list[Row], check_ids: set[uuid.UUID] | None, batch: PostgresBatch,
               record: Record) -> list[Row]:
        with self.engine.begin() as conn:
            to_store = first_stored(rows, (r["id"] for r in rows))  # an id twice in a batch is stored once
            if check_ids:
                stored = lock_and_find_ids(conn, check_ids)
                to_store = [r for r in to_store if r["id"] not in stored]
            if not to_store:
                inserted: set[uuid.UUID] = set()
            elif len(to_store) >= COPY_MIN_ROWS:
                # No row of to_store is stored yet (ids looked up under lock, or generated here); the prepared text
                # serves when no row was set aside. copy_insert falls back to ON CONFLICT DO NOTHING if one was.
                text = batch.copy if len(to_store) == len(rows) else None
                inserted = copy_insert(conn, to_store, text, fresh=True)
            else:
                inserted = set(conn.execute(self._insert, to_store).scalars())
            fresh = first_stored(rows, inserted)
            if fresh:
                record(conn, fresh)
        return fresh


def row_writer(engine: Engine) -> SqliteWriter | PostgresWriter:
    """The writer for the engine's database."""
    return PostgresWriter(engine) if engine.dialect.name == "postgresql" else SqliteWriter(engine)
