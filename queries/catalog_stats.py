"""Catalog entries with their hit counts, read from failure_rollups (matched failures per error code)."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from core.schema import catalog_entries as ce
from core.schema import failure_rollups as fr
from queries.rollups import rollup_conditions

ENTRY_COLUMNS = [
    "id", "code", "category", "severity", "recovery_mode", "is_retryable", "message", "patterns", "keywords",
    "recovery_suggestions", "created_by", "created_at", "enabled", "hits", "last_hit",
]


def _window(tenant: str | None, start: datetime | None, end: datetime | None) -> list:  # type: ignore[type-arg]
    return [fr.c.matched.is_(True), *rollup_conditions(tenant=tenant, start=start, end=end)]


def get_catalog_hits(conn: Connection, *, tenant: str | None, start: datetime | None = None,
                     end: datetime | None = None) -> pd.DataFrame:
    """One row per catalog entry: ENTRY_COLUMNS; hits = matched failures stored under the entry's code in the
    window (tenant-scoped), last_hit = latest hour bucket with a hit (UTC) or NaT. Most hits first."""
    hits_q = (
        select(fr.c.error_code, func.sum(fr.c.failures).label("hits"), func.max(fr.c.bucket).label("last_hit"))
        .where(*_window(tenant, start, end))
        .group_by(fr.c.error_code)
    )
    hits = {r.error_code: (int(r.hits or 0), r.last_hit) for r in conn.execute(hits_q)}
    rows = [dict(r) for r in conn.execute(select(ce).order_by(ce.c.code)).mappings()]
    for row in rows:
        n, last = hits.get(row["code"], (0, None))
        row["hits"], row["last_hit"] = n, (last if n > 0 else None)
    df = pd.DataFrame(rows, columns=ENTRY_COLUMNS)
    df["hits"] = df["hits"].fillna(0).astype("int64")
    df["last_hit"] = pd.to_datetime(df["last_hit"], utc=True)
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df.sort_values(["hits", "code"], ascending=[False, True]).reset_index(drop=True)


def get_matched_under_other_codes(conn: Connection, *, tenant: str | None, start: datetime | None = None,
                                  end: datetime | None = None) -> int:
    """Matched failures whose stored code is not a catalog code (a runtime's own code matched by message)."""
    codes = select(ce.c.code)
    query = select(func.coalesce(func.sum(fr.c.failures), 0)).where(
        *_window(tenant, start, end), fr.c.error_code.not_in(codes)
    )
    return int(conn.execute(query).scalar() or 0)
