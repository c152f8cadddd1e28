"""The FAILURES rollup family in step with failure_matches: inserts, recovery changes, promotions, retention.

Every change is a delta of the hourly base level (queries.rollups.levels.HOURLY), keyed like failure_rollups;
apply_rollup_deltas writes it to every level of the family in the caller's transaction, with the first and
last time and the latest message of the failures it adds (`seen`).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from core.schema import failure_rollups
from core.timebuckets import day_floor, hour_floor
from queries.rollups.levels import (
    CODE_KEYS,
    COUNT_COLUMNS,
    DAILY,
    DAILY_ALL,
    FAILURES,
    HOURLY,
    HOURLY_ALL,
    TENANT_HOURLY,
    TOTALS,
    Seen,
    add_seen,
)
from queries.rollups.seen import refresh_days
from queries.rollups.upserts import family_params, family_statement, upsert_rows, write_levels

RollupKey = tuple[str, datetime, str, str, str, str, bool]  # HOURLY.keys
_STATEMENT = family_statement(FAILURES)


def rollup_key(row: Mapping[Any, Any]) -> RollupKey:
    """The hourly rollup key of one failure row (a mapping with failure_matches columns)."""
    return (row["tenant_id"], hour_floor(row["created_at"]), row["error_code"], row["category"] or "",
            row["severity"] or "", row["recovery_mode"] or "", row["catalog_entry_id"] is not None)


def deltas_for_inserts(rows: Iterable[Mapping[str, Any]],
                       seen: dict[RollupKey, Seen] | None = None) -> dict[RollupKey, Counter[str]]:
    """Rollup deltas for newly inserted failure rows; with `seen`, their seen values per key go there too."""
    deltas: dict[RollupKey, Counter[str]] = {}
    for row in rows:
        key = rollup_key(row)
        if seen is not None:
            add_seen(seen, key, row["created_at"], row["error_message"])
        c = deltas.get(key)
        if c is None:
            c = deltas[key] = Counter()
        c["failures"] += 1
        if row.get("recovery_attempted"):
            c["recovery_attempts"] += 1
        if row.get("recovery_succeeded"):
            c["recovery_successes"] += 1
    return deltas


def _base_rows(deltas: Mapping[RollupKey, Counter[str]]) -> dict[RollupKey, dict[str, Any]]:
    # The bucket is a source too: failure_totals keeps the first and last hour of its key.
    return {key: {**{c: int(counts.get(c, 0)) for c in COUNT_COLUMNS}, "bucket": key[1]}
            for key, counts in deltas.items() if any(counts.values())}


def rollup_params(deltas: Mapping[RollupKey, Counter[str]],
                  seen: Mapping[RollupKey, Seen] | None = None) -> dict[str, list[Any]]:
    """The arrays of the PostgreSQL statement for these deltas (pure Python: ingest builds them while the previous
    batch is written)."""
    return family_params(FAILURES, _base_rows(deltas), seen)


@dataclass
class RollupBatch:
    """A batch's rollup deltas, the seen values of its failures and, on PostgreSQL, the statement's arrays: made
    from the rows before the write (ingest makes them while the previous batch is written)."""

    deltas: dict[RollupKey, Counter[str]]
    seen: dict[RollupKey, Seen]
    pg_params: dict[str, list[Any]] | None = None


def prepare_rollups(rows: Iterable[Mapping[str, Any]], *, dialect: str) -> RollupBatch:
    """The rollup batch of newly inserted failure rows, for a database of that dialect."""
    seen: dict[RollupKey, Seen] = {}
    deltas = deltas_for_inserts(rows, seen)
    return RollupBatch(deltas, seen, rollup_params(deltas, seen) if dialect == "postgresql" else None)


def apply_rollup_batch(conn: Connection, batch: RollupBatch) -> None:
    """Write a prepared batch to every level."""
    apply_rollup_deltas(conn, batch.deltas, batch.seen, pg_params=batch.pg_params)


def apply_rollup_deltas(conn: Connection, deltas: Mapping[RollupKey, Counter[str]],
                        seen: Mapping[RollupKey, Seen] | None = None, *,
                        pg_params: dict[str, list[Any]] | None = None) -> None:
    """Add count deltas to every level, creating rows when absent, and merge `seen` (first_at, last_at,
    last_message of the failures added, per hourly key) into the levels that carry it. `pg_params` is
    rollup_params(deltas, seen) when the caller built it already."""
    if conn.dialect.name == "postgresql":
        params = pg_params if pg_params is not None else rollup_params(deltas, seen)
        if params["tenant_id"]:
            conn.execute(_STATEMENT, params)
        return
    write_levels(conn, FAILURES, _base_rows(deltas), seen)


def expire_rollups(conn: Connection, cutoff: datetime) -> int:
    """Remove rollups before an hour-aligned cutoff from every level; returns hourly rows deleted.

    The all-time totals and the daily rows of the cutoff's day lose exactly the hourly counts being deleted.
    """
    fr = failure_rollups
    tkeys = ("tenant_id", *CODE_KEYS)
    group = [fr.c[c] for c in tkeys]
    sums = [func.sum(fr.c[c]).label(c) for c in COUNT_COLUMNS]
    gone = conn.execute(select(*group, *sums, func.min(fr.c.bucket).label("lo"), func.max(fr.c.bucket).label("hi"))
                        .where(fr.c.bucket < cutoff).group_by(*group)).mappings().all()
    # first_seen := least(first_seen, hi) and last_seen := greatest(last_seen, lo) leave both unchanged.
    upsert_rows(conn, TOTALS, [{**{k: r[k] for k in tkeys}, **_negated(r), "first_seen": _dt(r["hi"]),
                                "last_seen": _dt(r["lo"])} for r in gone])
    first_day = day_floor(cutoff)
    if first_day < cutoff:
        partial = conn.execute(select(*group, *sums).where(fr.c.bucket >= first_day, fr.c.bucket < cutoff)
                               .group_by(*group)).mappings().all()
        base = {(r["tenant_id"], first_day, *(r[k] for k in CODE_KEYS)): _negated(r) for r in partial}
        for level in (DAILY, DAILY_ALL):
            summed: dict[tuple[Any, ...], dict[str, Any]] = {}
            for key, counts in base.items():
                row = summed.setdefault(level.parts_of(key, HOURLY), {c: 0 for c in COUNT_COLUMNS})
                for c in COUNT_COLUMNS:
                    row[c] += counts[c]
            upsert_rows(conn, level, [{**dict(zip(level.keys, k, strict=True)), **v, "first_at": None,
                                       "last_at": None, "last_message": None} for k, v in summed.items()])
    for level in (DAILY, DAILY_ALL):
        conn.execute(level.table.delete().where(level.table.c.bucket < first_day))
    for level in (TENANT_HOURLY, HOURLY_ALL):
        conn.execute(level.table.delete().where(level.table.c.bucket < cutoff))
    deleted = int(conn.execute(fr.delete().where(fr.c.bucket < cutoff)).rowcount or 0)
    if first_day < cutoff:  # the cutoff's day lost its first hours: its first failure may have gone with them
        refresh_days(conn, [first_day])
    return deleted


def _negated(row: Mapping[Any, Any]) -> dict[str, int]:
    return {c: -int(row[c] or 0) for c in COUNT_COLUMNS}


def _dt(value: Any) -> datetime:
    # min()/max() of a timestamp can come back as text on SQLite.
    return datetime.fromisoformat(value) if isinstance(value, str) else value
