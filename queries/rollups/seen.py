"""First and last failure time and the latest message of each rollup row (first_at, last_at, last_message).

The hourly, daily and both all-tenant levels carry them (migration 0008), so Explore's groups show when a
group was first and last seen, and an example message, without reading raw rows. Ingest and promotion merge
them in with the counts (queries.rollups.writes.apply_rollup_deltas): the earliest first, the latest last, and the
latest failure's message, the greatest message on a tie. Failures only leave a row through a promotion or
retention; those recompute the rows concerned from what remains (refresh_seen, refresh_days).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, or_, select
from sqlalchemy.engine import Connection

from core.schema import failure_matches as fm
from core.schema import failure_rollups, failure_rollups_all, failure_rollups_daily, failure_rollups_daily_all

SEEN_COLUMNS = ("first_at", "last_at", "last_message")
CODE_KEYS = ("error_code", "category", "severity", "recovery_mode", "matched")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

Seen = tuple[datetime, datetime, str]  # (first_at, last_at, last_message)


def add_seen(seen: dict[Any, Seen], key: Any, ts: datetime, message: str) -> None:
    """Merge one failure (created_at, message) into seen[key]."""
    old = seen.get(key)
    if old is None:
        seen[key] = (ts, ts, message)
        return
    first = ts if ts < old[0] else old[0]
    if (ts, message) > (old[1], old[2]):
        seen[key] = (first, ts, message)
    elif first is not old[0]:
        seen[key] = (first, old[1], old[2])


def merge_seen(a: Seen | None, b: Seen | None) -> Seen | None:
    """The seen values of two sets of failures taken together."""
    if a is None or b is None:
        return a if b is None else b
    last = a if (a[1], a[2]) >= (b[1], b[2]) else b
    return (min(a[0], b[0]), last[1], last[2])


def level_seen(hourly: Mapping[tuple, Seen]) -> dict[Any, dict[tuple, Seen]]:  # type: ignore[type-arg]
    """The hourly seen values (keyed like failure_rollups) merged into each coarser level's keys."""
    out: dict[Any, dict[tuple, Seen]] = {t: {} for t in (failure_rollups, failure_rollups_daily,  # type: ignore[type-arg]
                                                         failure_rollups_all, failure_rollups_daily_all)}
    for key, value in hourly.items():
        tenant, bucket, *dims = key
        day = bucket.replace(hour=0, minute=0, second=0, microsecond=0)
        for table, level_key in ((failure_rollups, key), (failure_rollups_daily, (tenant, day, *dims)),
                                 (failure_rollups_all, (bucket, *dims)), (failure_rollups_daily_all, (day, *dims))):
            merged = merge_seen(out[table].get(level_key), value)
            assert merged is not None
            out[table][level_key] = merged
    return out


def seen_set_clauses(table: Any, excluded: Any) -> dict[str, Any]:
    """ON CONFLICT SET expressions merging an upserted row's seen values into the stored ones (NULL = none)."""
    new_later = and_(excluded.last_at.is_not(None), or_(
        table.c.last_at.is_(None), excluded.last_at > table.c.last_at,
        and_(excluded.last_at == table.c.last_at, excluded.last_message > table.c.last_message)))
    return {
        "first_at": case((excluded.first_at.is_(None), table.c.first_at),
                         (or_(table.c.first_at.is_(None), excluded.first_at < table.c.first_at), excluded.first_at),
                         else_=table.c.first_at),
        "last_at": case((new_later, excluded.last_at), else_=table.c.last_at),
        "last_message": case((new_later, excluded.last_message), else_=table.c.last_message),
    }


def _key_of(row: Mapping[str, Any], names: tuple[str, ...]) -> tuple:  # type: ignore[type-arg]
    return tuple(row[n] for n in names)


def _set_seen(conn: Connection, table: Any, keys: tuple[str, ...], values: Mapping[tuple, Seen | None]) -> None:  # type: ignore[type-arg]
    """UPDATE the seen columns of the given rows of `table` (None clears them: no failure left)."""
    if not values:
        return
    stmt = (table.update().where(*[table.c[k] == bindparam(f"k_{k}") for k in keys])
            .values(first_at=bindparam("v_first", type_=table.c.first_at.type),
                    last_at=bindparam("v_last", type_=table.c.last_at.type),
                    last_message=bindparam("v_message", type_=table.c.last_message.type)))
    params = []
    for key, seen in sorted(values.items(), key=lambda kv: kv[0]):  # one lock order for every writer
        first, last, message = seen if seen is not None else (None, None, None)
        params.append({**{f"k_{k}": v for k, v in zip(keys, key, strict=True)},
                       "v_first": first, "v_last": last, "v_message": message})
    conn.execute(stmt, params)


def _children(conn: Connection, table: Any, keys: tuple[str, ...], lo: datetime, hi: datetime,
              codes: set[str], tenants: set[str] | None = None) -> list[dict[str, Any]]:
    cond = [table.c.bucket >= lo, table.c.bucket < hi, table.c.last_at.is_not(None),
            table.c.error_code.in_(sorted(codes))]
    if tenants is not None:
        cond.append(table.c.tenant_id.in_(sorted(tenants)))
    cols = [table.c[k] for k in keys] + [table.c[c] for c in SEEN_COLUMNS]
    return [dict(r) for r in conn.execute(select(*cols).where(*cond)).mappings()]


def _day(ts: datetime) -> datetime:
    return ts.replace(hour=0, minute=0, second=0, microsecond=0)


def refresh_seen(conn: Connection, hourly_keys: Iterable[tuple]) -> None:  # type: ignore[type-arg]
    """Recompute the seen values of these failure_rollups keys from the raw rows, then of their daily and
    all-tenant rows from the level below (after failures left those rows, e.g. by a promotion)."""
    keys = set(hourly_keys)
    if not keys:
        return
    tenant_keys = ("tenant_id", "bucket", *CODE_KEYS)
    hourly: dict[tuple, Seen | None] = dict.fromkeys(keys)  # type: ignore[type-arg]
    for tenant in sorted({k[0] for k in keys}):
        mine = [k for k in keys if k[0] == tenant]
        lo, hi = min(k[1] for k in mine), max(k[1] for k in mine) + HOUR
        rows = conn.execute(select(fm.c.created_at, fm.c.error_code, fm.c.category, fm.c.severity, fm.c.recovery_mode,
                                   fm.c.catalog_entry_id, fm.c.error_message)
                            .where(fm.c.tenant_id == tenant, fm.c.created_at >= lo, fm.c.created_at < hi,
                                   fm.c.error_code.in_(sorted({k[2] for k in mine}))))
        found: dict[tuple, Seen] = {}  # type: ignore[type-arg]
        for ts, code, category, severity, mode, entry, message in rows:
            key = (tenant, ts.replace(minute=0, second=0, microsecond=0), code, category or "", severity or "",
                   mode or "", entry is not None)
            if key in hourly:
                add_seen(found, key, ts, message)
        hourly.update(found)
    _set_seen(conn, failure_rollups, tenant_keys, hourly)
    _refresh_parents(conn, keys)


def refresh_days(conn: Connection, days: Iterable[datetime]) -> None:
    """Recompute the seen values of the daily rows of these UTC days from the hourly rows left (retention)."""
    for day in sorted(set(days)):
        for daily, hourly, keys in ((failure_rollups_daily, failure_rollups, ("tenant_id", "bucket", *CODE_KEYS)),
                                    (failure_rollups_daily_all, failure_rollups_all, ("bucket", *CODE_KEYS))):
            stored = [_key_of(r, keys) for r in conn.execute(
                select(*[daily.c[k] for k in keys]).where(daily.c.bucket == day)).mappings()]
            merged: dict[tuple, Seen | None] = dict.fromkeys(stored)  # type: ignore[type-arg]
            for row in conn.execute(select(*[hourly.c[k] for k in keys], *[hourly.c[c] for c in SEEN_COLUMNS])
                                    .where(hourly.c.bucket >= day, hourly.c.bucket < day + DAY,
                                           hourly.c.last_at.is_not(None))).mappings():
                key = tuple(day if k == "bucket" else row[k] for k in keys)
                if key in merged:
                    merged[key] = merge_seen(merged[key], (row["first_at"], row["last_at"], row["last_message"]))
            _set_seen(conn, daily, keys, merged)


def _refresh_parents(conn: Connection, hourly_keys: set[tuple]) -> None:  # type: ignore[type-arg]
    """Daily, all-tenant hourly and all-tenant daily rows above these hourly keys, from the level below."""
    codes = {k[2] for k in hourly_keys}
    tenant_keys = ("tenant_id", "bucket", *CODE_KEYS)
    all_keys = ("bucket", *CODE_KEYS)
    daily = {(k[0], _day(k[1]), *k[2:]) for k in hourly_keys}
    hours = {k[1:] for k in hourly_keys}
    days_all = {(_day(k[1]), *k[2:]) for k in hourly_keys}
    lo, hi = _day(min(k[1] for k in hourly_keys)), _day(max(k[1] for k in hourly_keys)) + DAY

    def merged(parents: set[tuple], rows: list[dict[str, Any]], parent_of: Any) -> dict[tuple, Seen | None]:  # type: ignore[type-arg]
        out: dict[tuple, Seen | None] = dict.fromkeys(parents)  # type: ignore[type-arg]
        for row in rows:
            key = parent_of(row)
            if key in out:
                out[key] = merge_seen(out[key], (row["first_at"], row["last_at"], row["last_message"]))
        return out

    tenants = {k[0] for k in hourly_keys}
    hourly_rows = _children(conn, failure_rollups, tenant_keys, lo, hi, codes, tenants)
    _set_seen(conn, failure_rollups_daily, tenant_keys, merged(
        daily, hourly_rows, lambda r: (r["tenant_id"], _day(r["bucket"]), *_key_of(r, CODE_KEYS))))
    every_tenant = _children(conn, failure_rollups, tenant_keys, lo, hi, codes)
    _set_seen(conn, failure_rollups_all, all_keys, merged(hours, every_tenant, lambda r: _key_of(r, all_keys)))
    daily_rows = _children(conn, failure_rollups_daily, tenant_keys, lo, hi, codes)
    _set_seen(conn, failure_rollups_daily_all, all_keys, merged(days_all, daily_rows, lambda r: _key_of(r, all_keys)))
