"""First and last failure time and the latest message of rollup rows, recomputed after failures leave them.

The levels that carry them (queries.rollups.levels: `latest=True`) get them merged in by every insert
(queries.rollups.upserts). Failures only leave a row through a promotion (they move to another code) or
retention; those recompute the rows concerned from what remains: refresh_seen from the raw rows for hourly
keys and from the level below for the rows above them, refresh_days for the daily rows of cut days.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from core.schema import failure_matches as fm
from core.timebuckets import DAY, HOUR, day_floor, hour_floor
from queries.rollups.levels import DAILY, DAILY_ALL, HOURLY, HOURLY_ALL, SEEN_COLUMNS, Level, Seen, add_seen, merge_seen

Key = tuple[Any, ...]


def _set_seen(conn: Connection, level: Level, values: Mapping[Key, Seen | None]) -> None:
    """UPDATE the seen columns of the given rows of a level (None clears them: no failure left)."""
    if not values:
        return
    table = level.table
    stmt = (table.update().where(*[table.c[k] == bindparam(f"k_{k}") for k in level.keys])
            .values(first_at=bindparam("v_first", type_=table.c.first_at.type),
                    last_at=bindparam("v_last", type_=table.c.last_at.type),
                    last_message=bindparam("v_message", type_=table.c.last_message.type)))
    params = []
    for key, seen in sorted(values.items(), key=lambda kv: kv[0]):  # one lock order for every writer
        first, last, message = seen if seen is not None else (None, None, None)
        params.append({**{f"k_{k}": v for k, v in zip(level.keys, key, strict=True)},
                       "v_first": first, "v_last": last, "v_message": message})
    conn.execute(stmt, params)


def _rows_with_seen(conn: Connection, level: Level, lo: datetime, hi: datetime, codes: set[str],
                    tenants: set[str] | None = None) -> list[dict[str, Any]]:
    table = level.table
    cond = [table.c.bucket >= lo, table.c.bucket < hi, table.c.last_at.is_not(None),
            table.c.error_code.in_(sorted(codes))]
    if tenants is not None:
        cond.append(table.c.tenant_id.in_(sorted(tenants)))
    cols = [table.c[k] for k in level.keys] + [table.c[c] for c in SEEN_COLUMNS]
    return [dict(r) for r in conn.execute(select(*cols).where(*cond)).mappings()]


def _merged(parents: Iterable[Key], rows: list[dict[str, Any]], parent_of: Callable[[dict[str, Any]], Key]
            ) -> dict[Key, Seen | None]:
    out: dict[Key, Seen | None] = dict.fromkeys(parents)
    for row in rows:
        key = parent_of(row)
        if key in out:
            out[key] = merge_seen(out[key], (row["first_at"], row["last_at"], row["last_message"]))
    return out


def refresh_seen(conn: Connection, hourly_keys: Iterable[Key]) -> None:
    """Recompute the seen values of these hourly keys from the raw rows, then of their daily and all-tenant
    rows from the level below (after failures left those rows, e.g. by a promotion)."""
    keys = set(hourly_keys)
    if not keys:
        return
    hourly: dict[Key, Seen | None] = dict.fromkeys(keys)
    for tenant in sorted({k[0] for k in keys}):
        mine = [k for k in keys if k[0] == tenant]
        lo, hi = min(k[1] for k in mine), max(k[1] for k in mine) + HOUR
        rows = conn.execute(select(fm.c.created_at, fm.c.error_code, fm.c.category, fm.c.severity, fm.c.recovery_mode,
                                   fm.c.catalog_entry_id, fm.c.error_message)
                            .where(fm.c.tenant_id == tenant, fm.c.created_at >= lo, fm.c.created_at < hi,
                                   fm.c.error_code.in_(sorted({k[2] for k in mine}))))
        found: dict[Key, Seen] = {}
        for ts, code, category, severity, mode, entry, message in rows:
            key = (tenant, hour_floor(ts), code, category or "", severity or "", mode or "", entry is not None)
            if key in hourly:
                add_seen(found, key, ts, message)
        hourly.update(found)
    _set_seen(conn, HOURLY, hourly)
    _refresh_parents(conn, keys)


def refresh_days(conn: Connection, days: Iterable[datetime]) -> None:
    """Recompute the seen values of the daily rows of these UTC days from the hourly rows left (retention)."""
    for day in sorted(set(days)):
        for daily, hourly in ((DAILY, HOURLY), (DAILY_ALL, HOURLY_ALL)):
            table = daily.table
            stored = [tuple(r) for r in conn.execute(
                select(*[table.c[k] for k in daily.keys]).where(table.c.bucket == day))]
            below = hourly.table
            rows = [dict(r) for r in conn.execute(
                select(*[below.c[k] for k in hourly.keys], *[below.c[c] for c in SEEN_COLUMNS])
                .where(below.c.bucket >= day, below.c.bucket < day + DAY, below.c.last_at.is_not(None))).mappings()]
            _set_seen(conn, daily, _merged(stored, rows, daily.key_of))


def _refresh_parents(conn: Connection, hourly_keys: set[Key]) -> None:
    """Daily, all-tenant hourly and all-tenant daily rows above these hourly keys, from the level below."""
    codes = {k[2] for k in hourly_keys}
    tenants = {k[0] for k in hourly_keys}
    lo = day_floor(min(k[1] for k in hourly_keys))
    hi = day_floor(max(k[1] for k in hourly_keys)) + DAY
    parents = {level: {level.parts_of(k, HOURLY) for k in hourly_keys} for level in (DAILY, HOURLY_ALL, DAILY_ALL)}
    hourly_rows = _rows_with_seen(conn, HOURLY, lo, hi, codes, tenants)
    _set_seen(conn, DAILY, _merged(parents[DAILY], hourly_rows, DAILY.key_of))
    every_tenant = _rows_with_seen(conn, HOURLY, lo, hi, codes)
    _set_seen(conn, HOURLY_ALL, _merged(parents[HOURLY_ALL], every_tenant, HOURLY_ALL.key_of))
    daily_rows = _rows_with_seen(conn, DAILY, lo, hi, codes)
    _set_seen(conn, DAILY_ALL, _merged(parents[DAILY_ALL], daily_rows, DAILY_ALL.key_of))


