"""Catalog entries with their hit counts, read from the rollup levels (matched failures per error code)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from core.schema import catalog_entries as ce
from core.schema import failure_rollups as hourly
from core.schema import failure_totals as ft
from queries.rollups.reads import rollup_source

ENTRY_COLUMNS = [
    "id", "code", "category", "severity", "recovery_mode", "is_retryable", "message", "patterns", "keywords",
    "recovery_suggestions", "created_by", "created_at", "enabled", "hits", "last_hit",
]


def _source(tenant_id: str | None, start: datetime | None, end: datetime | None) -> Any:
    """Matched rollup rows of the window (all time when start/end are None)."""
    if start is None or end is None:
        src = select(hourly).where(hourly.c.matched.is_(True))
        if tenant_id:
            src = src.where(hourly.c.tenant_id == tenant_id)
        if start is not None:
            src = src.where(hourly.c.bucket >= start)
        if end is not None:
            src = src.where(hourly.c.bucket < end)
        return src.subquery("matched_src")
    fr = rollup_source(tenant_id=tenant_id, start=start, end=end)
    return select(fr).where(fr.c.matched.is_(True)).subquery("matched_src")


def _last_hits(conn: Connection, tenant_id: str | None, end: datetime | None, codes: list[str]) -> dict[str, Any]:
    """Latest hour with a hit per code, from the all-time totals; only exact when that hour is before `end`."""
    if not codes:
        return {}
    query = select(ft.c.error_code, func.max(ft.c.last_seen)).where(
        ft.c.matched.is_(True), ft.c.failures > 0, ft.c.error_code.in_(codes)).group_by(ft.c.error_code)
    if tenant_id:
        query = query.where(ft.c.tenant_id == tenant_id)
    lasts = {code: _dt(last) for code, last in conn.execute(query)}
    return {code: last for code, last in lasts.items() if end is None or last < end}


def get_catalog_hits(conn: Connection, *, tenant_id: str | None, start: datetime | None = None,
                     end: datetime | None = None) -> pd.DataFrame:
    """One row per catalog entry: ENTRY_COLUMNS; hits = matched failures stored under the entry's code in the
    window (tenant-scoped), last_hit = latest hour bucket with a hit (UTC) or NaT. Most hits first."""
    return get_catalog_usage(conn, tenant_id=tenant_id, start=start, end=end)[0]


def get_matched_under_other_codes(conn: Connection, *, tenant_id: str | None, start: datetime | None = None,
                                  end: datetime | None = None) -> int:
    """Matched failures whose stored code is not a catalog code (a runtime's own code matched by message)."""
    return get_catalog_usage(conn, tenant_id=tenant_id, start=start, end=end)[1]


def get_catalog_usage(conn: Connection, *, tenant_id: str | None, start: datetime | None = None,
                      end: datetime | None = None) -> tuple[pd.DataFrame, int]:
    """(get_catalog_hits, get_matched_under_other_codes) from one read of the window's matched rollups."""
    fr = _source(tenant_id, start, end)
    hits_q = select(fr.c.error_code, func.sum(fr.c.failures).label("hits"), func.max(fr.c.bucket).label("last_hit")
                    ).group_by(fr.c.error_code)
    hits = {r.error_code: (int(r.hits or 0), r.last_hit) for r in conn.execute(hits_q)}
    rows = [dict(r) for r in conn.execute(select(ce).order_by(ce.c.code)).mappings()]
    codes = {row["code"] for row in rows}
    other = sum(n for code, (n, _) in hits.items() if code not in codes)
    # A daily row only says which day: the all-time last hour is the window's last hit whenever it lies before
    # the window's end (the window has a hit, so that hour is inside it).
    exact = _last_hits(conn, tenant_id, end, [c for c, (n, _) in hits.items() if n > 0 and c in codes])
    for row in rows:
        n, last = hits.get(row["code"], (0, None))
        row["hits"], row["last_hit"] = n, (exact.get(row["code"], last) if n > 0 else None)
    # Sorted and split into columns in Python: a frame built from row dicts and sorted in pandas cost twice as much.
    rows.sort(key=lambda r: (-r["hits"], r["code"]))
    df = pd.DataFrame({c: [r.get(c) for r in rows] for c in ENTRY_COLUMNS})
    df["hits"] = df["hits"].astype("int64")
    df["last_hit"] = pd.to_datetime(df["last_hit"], utc=True)
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df, other


def _dt(value: Any) -> Any:
    # max() of a timestamp can come back as text on SQLite.
    return datetime.fromisoformat(value) if isinstance(value, str) else value
