"""Keep the rollup levels in step with inserts, recovery changes, promotions and retention.

Every level is written from the hourly deltas of one transaction (apply_rollup_deltas): failure_rollups (hourly,
full key), failure_rollups_daily, failure_rollups_tenant_hourly, the two all-tenant levels and failure_totals,
with the seen columns of queries.rollups.seen. On PostgreSQL one statement derives every level from the deltas
sent as arrays; SQLite gets one multi-row upsert per level. expire_rollups removes what retention expires.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from core.schema import (
    failure_rollups,
    failure_rollups_all,
    failure_rollups_daily,
    failure_rollups_daily_all,
    failure_rollups_tenant_hourly,
    failure_totals,
)
from queries.rollups.reads import CODE_KEYS, COUNT_COLUMNS, KEY_COLUMNS, RollupKey, as_datetime, day_bucket, rollup_key
from queries.rollups.seen import SEEN_COLUMNS, Seen, add_seen, level_seen, refresh_days, seen_set_clauses

# Per coarser level (daily, all-tenant hourly, all-tenant daily): the hourly delta holding that row's latest failure.
LATEST_FLAGS = ("latest_daily", "latest_hourly_all", "latest_daily_all")


def apply_rollup_deltas(conn: Connection, deltas: Mapping[RollupKey, Counter],  # type: ignore[type-arg]
                        seen: Mapping[RollupKey, Seen] | None = None, *,
                        pg_params: dict[str, list[Any]] | None = None) -> None:
    """Add count deltas to every rollup level, creating rows when absent (one multi-row upsert per level), and
    merge `seen` (first_at, last_at, last_message of the failures added, per hourly key) into the levels that
    carry it (queries.rollups.seen). `pg_params` is rollup_params(deltas, seen) when the caller built it already."""
    seen = seen or {}
    if conn.dialect.name == "postgresql":
        _apply_pg(conn, deltas, seen, pg_params)
        return
    hourly: dict[tuple, Counter] = {}  # type: ignore[type-arg]
    daily: dict[tuple, Counter] = {}  # type: ignore[type-arg]
    hourly_all: dict[tuple, Counter] = {}  # type: ignore[type-arg]
    daily_all: dict[tuple, Counter] = {}  # type: ignore[type-arg]
    tenant_hourly: dict[tuple, Counter] = {}  # type: ignore[type-arg]
    totals: dict[tuple, list] = {}  # type: ignore[type-arg]
    for key, counts in deltas.items():
        if not any(counts.values()):
            continue
        tenant, bucket, *code_key = key
        day = day_bucket(bucket)
        for level, level_key in ((hourly, key), (daily, (tenant, day, *code_key)),
                                 (tenant_hourly, (tenant, bucket, key[-1])), (hourly_all, (bucket, *code_key)),
                                 (daily_all, (day, *code_key))):
            level.setdefault(level_key, Counter()).update(counts)
        entry = totals.setdefault((tenant, *code_key), [Counter(), bucket, bucket])
        entry[0].update(counts)
        entry[1], entry[2] = min(entry[1], bucket), max(entry[2], bucket)
    levels = level_seen({k: v for k, v in seen.items() if k in hourly})
    _upsert(conn, failure_rollups, KEY_COLUMNS, hourly, latest=levels[failure_rollups])
    _upsert(conn, failure_rollups_daily, KEY_COLUMNS, daily, latest=levels[failure_rollups_daily])
    _upsert(conn, failure_rollups_tenant_hourly, ("tenant_id", "bucket", "matched"), tenant_hourly)
    _upsert(conn, failure_rollups_all, ("bucket", *CODE_KEYS), hourly_all, latest=levels[failure_rollups_all])
    _upsert(conn, failure_rollups_daily_all, ("bucket", *CODE_KEYS), daily_all,
            latest=levels[failure_rollups_daily_all])
    _upsert(conn, failure_totals, ("tenant_id", *CODE_KEYS),
            {k: v[0] for k, v in totals.items()}, seen={k: (v[1], v[2]) for k, v in totals.items()})


def _level_sql() -> str:
    """One statement for PostgreSQL: the hourly deltas arrive as arrays, every level is derived server-side.

    Built once at import from this module's constant table and column names; every value is a bound array."""
    codes = ", ".join(CODE_KEYS)
    counts = ", ".join(COUNT_COLUMNS)
    sums = ", ".join(f"sum({c})" for c in COUNT_COLUMNS)
    add = ", ".join(f"{c} = {{t}}.{c} + excluded.{c}" for c in COUNT_COLUMNS)
    day = "date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"

    def seen_select(level: str) -> str:
        # The latest message of a level row is the one of the hourly delta flagged as its latest (rollup_params),
        # a plain max() over one row instead of an ordered aggregate.
        return f", min(first_at), max(last_at), max(last_message) FILTER (WHERE latest_{level})"

    def seen_set(t: str) -> str:  # queries.rollups.seen.seen_set_clauses, in SQL (least/greatest skip NULLs)
        later = (f"excluded.last_at IS NOT NULL AND ({t}.last_at IS NULL OR excluded.last_at > {t}.last_at OR "
                 f"(excluded.last_at = {t}.last_at AND excluded.last_message > {t}.last_message))")
        return (f", first_at = least({t}.first_at, excluded.first_at), last_at = greatest({t}.last_at, "
                f"excluded.last_at), last_message = CASE WHEN {later} THEN excluded.last_message "
                f"ELSE {t}.last_message END")

    def level(table: str, keys: str, select_keys: str, extra: str = "", extra_select: str = "",
              extra_set: str = "") -> str:
        return (f"INSERT INTO {table} ({keys}, {counts}{extra}) SELECT {select_keys}, {sums}{extra_select} FROM d "  # noqa: S608
                f"GROUP BY {select_keys} ORDER BY {select_keys} ON CONFLICT ({keys}) DO UPDATE SET "
                f"{add.format(t=table)}{extra_set}")

    seen_cols = ", " + ", ".join(SEEN_COLUMNS)
    parts = {
        "h": level("failure_rollups", f"tenant_id, bucket, {codes}", f"tenant_id, bucket, {codes}", seen_cols,
                   ", min(first_at), max(last_at), max(last_message)", seen_set("failure_rollups")),
        "dd": level("failure_rollups_daily", f"tenant_id, bucket, {codes}", f"tenant_id, {day}, {codes}", seen_cols,
                    seen_select("daily"), seen_set("failure_rollups_daily")),
        "th": level("failure_rollups_tenant_hourly", "tenant_id, bucket, matched", "tenant_id, bucket, matched"),
        "ha": level("failure_rollups_all", f"bucket, {codes}", f"bucket, {codes}", seen_cols, seen_select("hourly_all"),
                    seen_set("failure_rollups_all")),
        "da": level("failure_rollups_daily_all", f"bucket, {codes}", f"{day}, {codes}", seen_cols,
                    seen_select("daily_all"), seen_set("failure_rollups_daily_all")),
        "tt": level("failure_totals", f"tenant_id, {codes}", f"tenant_id, {codes}", ", first_seen, last_seen",
                    ", min(bucket), max(bucket)",
                    ", first_seen = least(failure_totals.first_seen, excluded.first_seen)"
                    ", last_seen = greatest(failure_totals.last_seen, excluded.last_seen)"),
    }
    unnest = ("SELECT * FROM unnest(CAST(:tenant_id AS text[]), CAST(:bucket AS timestamptz[]), "  # noqa: S608
              "CAST(:error_code AS text[]), CAST(:category AS text[]), CAST(:severity AS text[]), "
              "CAST(:recovery_mode AS text[]), CAST(:matched AS boolean[]), CAST(:failures AS integer[]), "
              "CAST(:recovery_attempts AS integer[]), CAST(:recovery_successes AS integer[]), "
              "CAST(:first_at AS timestamptz[]), CAST(:last_at AS timestamptz[]), CAST(:last_message AS text[]), "
              "CAST(:latest_daily AS boolean[]), CAST(:latest_hourly_all AS boolean[]), "
              "CAST(:latest_daily_all AS boolean[])) "
              f"AS d(tenant_id, bucket, {codes}, {counts}{seen_cols}, {', '.join(LATEST_FLAGS)})")
    ctes = ", ".join(f"{name} AS ({sql} RETURNING 1)" for name, sql in parts.items())
    return f"WITH d AS ({unnest}), {ctes} SELECT (SELECT count(*) FROM h)"  # noqa: S608


_LEVEL_SQL = text(_level_sql())


def _apply_pg(conn: Connection, deltas: Mapping[RollupKey, Counter],  # type: ignore[type-arg]
              seen: Mapping[RollupKey, Seen], params: dict[str, list[Any]] | None) -> None:
    params = params if params is not None else rollup_params(deltas, seen)
    if params["tenant_id"]:
        conn.execute(_LEVEL_SQL, params)


def rollup_params(deltas: Mapping[RollupKey, Counter],  # type: ignore[type-arg]
                  seen: Mapping[RollupKey, Seen] | None = None) -> dict[str, list[Any]]:
    """The PostgreSQL level statement's arrays for these deltas: one entry per hourly key (sorted, the lock order
    of every writer), with its seen values and, per coarser level, whether its failure is that level row's latest
    in the batch. Pure Python: ingest builds it while the previous batch is written."""
    seen = seen or {}
    items = sorted((k, c) for k, c in deltas.items() if any(c.values()))
    params: dict[str, list[Any]] = {c: [] for c in (*KEY_COLUMNS, *COUNT_COLUMNS, *SEEN_COLUMNS, *LATEST_FLAGS)}
    best: list[dict[tuple, tuple[Any, Any, int]]] = [{}, {}, {}]  # type: ignore[type-arg]
    for i, (key, counts) in enumerate(items):
        for col, value in zip(KEY_COLUMNS, key, strict=True):
            params[col].append(value)
        for col in COUNT_COLUMNS:
            params[col].append(int(counts.get(col, 0)))
        value = seen.get(key)
        for col, v in zip(SEEN_COLUMNS, value or (None, None, None), strict=True):
            params[col].append(v)
        for flag in LATEST_FLAGS:
            params[flag].append(False)
        if value is None:
            continue
        tenant, bucket, *dims = key
        day = day_bucket(bucket)
        for level, level_key in zip(best, ((tenant, day, *dims), (bucket, *dims), (day, *dims)), strict=True):
            held = level.get(level_key)
            if held is None or (value[1], value[2]) > (held[0], held[1]):
                level[level_key] = (value[1], value[2], i)
    for flag, level in zip(LATEST_FLAGS, best, strict=True):
        for _last, _message, i in level.values():
            params[flag][i] = True
    return params


def _upsert(conn: Connection, table: Any, keys: tuple[str, ...], deltas: Mapping[tuple, Counter],  # type: ignore[type-arg]
            seen: Mapping[tuple, tuple[datetime, datetime]] | None = None,
            latest: Mapping[tuple, Seen] | None = None) -> None:
    """One multi-row upsert adding count deltas; `seen` merges failure_totals' first/last hour, `latest` the
    seen columns of the levels that carry them (queries.rollups.seen)."""
    rows = []
    for key, counts in deltas.items():
        row = dict(zip(keys, key, strict=True))
        row.update({c: int(counts.get(c, 0)) for c in COUNT_COLUMNS})
        if seen is not None:
            row["first_seen"], row["last_seen"] = seen[key]
        if latest is not None:
            row.update(zip(SEEN_COLUMNS, latest.get(key) or (None, None, None), strict=True))
        rows.append(row)
    if not rows:
        return
    pg = conn.dialect.name == "postgresql"
    stmt = (pg_insert if pg else sqlite_insert)(table)
    set_ = {c: table.c[c] + stmt.excluded[c] for c in COUNT_COLUMNS}
    if seen is not None:
        # Two-argument min()/max() are scalar functions on SQLite; the stored text sorts like the time.
        least, greatest = (func.least, func.greatest) if pg else (func.min, func.max)
        set_["first_seen"] = least(table.c.first_seen, stmt.excluded.first_seen)
        set_["last_seen"] = greatest(table.c.last_seen, stmt.excluded.last_seen)
    if latest is not None:
        set_.update(seen_set_clauses(table, stmt.excluded))
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=set_).returning(table.c.failures)
    # Sorted keys give every writer the same lock order, so concurrent batches cannot deadlock; RETURNING lets
    # SQLAlchemy send the rows as one multi-row upsert.
    rows.sort(key=lambda r: tuple(r[k] for k in keys))
    conn.execute(stmt, rows).all()


def expire_rollups(conn: Connection, cutoff: datetime) -> int:
    """Remove rollups before an hour-aligned cutoff from every level; returns hourly rows deleted.

    The all-time totals and the daily row of the cutoff's day lose exactly the hourly counts being deleted.
    """
    fr = failure_rollups
    tkeys = ("tenant_id", *CODE_KEYS)
    group = [fr.c[c] for c in tkeys]
    sums = [func.sum(fr.c[c]).label(c) for c in COUNT_COLUMNS]
    gone = conn.execute(select(*group, *sums, func.min(fr.c.bucket).label("lo"), func.max(fr.c.bucket).label("hi"))
                        .where(fr.c.bucket < cutoff).group_by(*group)).mappings().all()
    # first_seen := least(first_seen, hi) and last_seen := greatest(last_seen, lo) leave both unchanged.
    _upsert(conn, failure_totals, tkeys, _negated(gone, tkeys),
            seen={_key(r, tkeys): (as_datetime(r["hi"]), as_datetime(r["lo"])) for r in gone})
    first_day = day_bucket(cutoff)
    if first_day < cutoff:
        partial = conn.execute(select(*group, *sums).where(fr.c.bucket >= first_day, fr.c.bucket < cutoff)
                               .group_by(*group)).mappings().all()
        negated = _negated(partial, tkeys)
        _upsert(conn, failure_rollups_daily, KEY_COLUMNS, {(k[0], first_day, *k[1:]): v for k, v in negated.items()})
        summed: dict[tuple, Counter] = {}  # type: ignore[type-arg]
        for k, v in negated.items():
            summed.setdefault((first_day, *k[1:]), Counter()).update(v)
        _upsert(conn, failure_rollups_daily_all, ("bucket", *CODE_KEYS), summed)
    frd, frth = failure_rollups_daily, failure_rollups_tenant_hourly
    conn.execute(frd.delete().where(frd.c.bucket < first_day))
    conn.execute(frth.delete().where(frth.c.bucket < cutoff))
    conn.execute(failure_rollups_daily_all.delete().where(failure_rollups_daily_all.c.bucket < first_day))
    conn.execute(failure_rollups_all.delete().where(failure_rollups_all.c.bucket < cutoff))
    deleted = int(conn.execute(fr.delete().where(fr.c.bucket < cutoff)).rowcount or 0)
    if first_day < cutoff:  # the cutoff's day lost its first hours: its first failure may have gone with them
        refresh_days(conn, [first_day])
    return deleted


def _key(row: Mapping, keys: tuple[str, ...]) -> tuple:  # type: ignore[type-arg]
    return tuple(row[k] for k in keys)


def _negated(rows: Iterable[Mapping], keys: tuple[str, ...]) -> dict[tuple, Counter]:  # type: ignore[type-arg]
    return {_key(r, keys): Counter({c: -int(r[c] or 0) for c in COUNT_COLUMNS}) for r in rows}


def deltas_for_inserts(rows: Iterable[Mapping],  # type: ignore[type-arg]
                       seen: dict[RollupKey, Seen] | None = None) -> dict[RollupKey, Counter]:  # type: ignore[type-arg]
    """Rollup deltas for newly inserted failure rows; with `seen`, their seen values per key go there too."""
    deltas: dict[RollupKey, Counter] = {}  # type: ignore[type-arg]
    for row in rows:
        key = rollup_key(row)
        if seen is not None:
            add_seen(seen, key, row["created_at"], row["error_message"])
        c = deltas.setdefault(key, Counter())
        c["failures"] += 1
        if row.get("recovery_attempted"):
            c["recovery_attempts"] += 1
        if row.get("recovery_succeeded"):
            c["recovery_successes"] += 1
    return deltas
