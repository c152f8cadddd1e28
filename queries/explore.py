"""Explore: failures grouped by error code, category or signature, with first/last seen and a sparkline."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import ColumnElement, Float, Integer, cast, func, select
from sqlalchemy.engine import Connection

from core.schema import failure_matches as fm
from queries.filters import FailureFilter, FilterError

GROUPINGS = {"error_code": fm.c.error_code, "category": fm.c.category, "signature": fm.c.signature}
GROUP_COLUMNS = ["key", "failures", "matched", "recovered", "first_seen", "last_seen", "example", "category",
                 "sparkline"]
SPARK_BUCKETS = 24
MAX_GROUPS = 500


def _epoch(conn: Connection, col: ColumnElement) -> ColumnElement:  # type: ignore[type-arg]
    """Seconds since 1970 of a timestamp column on either engine."""
    if conn.dialect.name == "sqlite":
        return cast(func.strftime("%s", col), Float)
    return func.extract("epoch", col)


def get_groups(conn: Connection, *, filt: FailureFilter, by: str = "error_code", limit: int = 100,
               buckets: int = SPARK_BUCKETS) -> pd.DataFrame:
    """One row per group (largest first): GROUP_COLUMNS; sparkline = failures per equal time slice of the range."""
    if by not in GROUPINGS:
        raise FilterError(f"group by must be one of {', '.join(GROUPINGS)}")
    if not 1 <= limit <= MAX_GROUPS:
        raise FilterError(f"limit must be between 1 and {MAX_GROUPS}")
    key = GROUPINGS[by]
    count = func.count()
    conds = filt.conditions()
    query = (
        select(
            key.label("key"),
            count.label("failures"),
            func.sum(cast(fm.c.catalog_entry_id.is_not(None), Integer)).label("matched"),
            func.sum(cast(fm.c.recovery_succeeded.is_(True), Integer)).label("recovered"),
            func.min(fm.c.created_at).label("first_seen"),
            func.max(fm.c.created_at).label("last_seen"),
            func.min(fm.c.error_message).label("example"),
            func.max(fm.c.category).label("category"),
        )
        .where(*conds)
        .group_by(key)
        .order_by(count.desc(), key)
        .limit(limit)
    )
    rows = conn.execute(query).mappings().all()
    df = pd.DataFrame([dict(r) for r in rows], columns=GROUP_COLUMNS[:-1])
    for col in ("first_seen", "last_seen"):
        df[col] = pd.to_datetime(df[col], utc=True)
    for col in ("failures", "matched", "recovered"):
        df[col] = df[col].fillna(0).astype("int64")
    df["sparkline"] = _sparklines(conn, filt, key, df, buckets)
    return df[GROUP_COLUMNS]


def _sparklines(conn: Connection, filt: FailureFilter, key: ColumnElement, groups: pd.DataFrame,  # type: ignore[type-arg]
                buckets: int) -> list[list[int]]:
    """Counts per time slice for the listed groups only (one grouped query, no per-row queries)."""
    if groups.empty:
        return []
    start: datetime = filt.start or groups["first_seen"].min().to_pydatetime()
    end: datetime = filt.end or groups["last_seen"].max().to_pydatetime()
    span = max((end - start).total_seconds(), 1.0)
    width = span / buckets
    offset = (_epoch(conn, fm.c.created_at) - start.timestamp()) / width
    # SQLite's CAST truncates (offsets are >= 0); PostgreSQL's rounds, so floor first there.
    slot = cast(offset if conn.dialect.name == "sqlite" else func.floor(offset), Integer)
    keys = [k for k in groups["key"].tolist() if k is not None]
    conds = [*filt.conditions()]
    if keys:
        conds.append(key.in_(keys))
    rows = conn.execute(
        select(key.label("key"), slot.label("slot"), func.count().label("n")).where(*conds).group_by(key, slot)
    ).all()
    series: dict[object, list[int]] = {k: [0] * buckets for k in groups["key"].tolist()}
    for k, s, n in rows:
        if k in series and s is not None:
            series[k][min(max(int(s), 0), buckets - 1)] += int(n)
    return [series[k] for k in groups["key"].tolist()]


def get_filter_options(conn: Connection, *, tenant: str | None) -> dict[str, list[str]]:
    """Values offered in the filter pickers (from the small rollup table): error_codes, categories, modes."""
    from core.schema import failure_rollups as fr

    # One pass over the rollups for the three pickers (three DISTINCT scans cost ~3x at 1M failures).
    query = select(fr.c.error_code, fr.c.category, fr.c.recovery_mode).group_by(
        fr.c.error_code, fr.c.category, fr.c.recovery_mode)
    if tenant is not None:
        query = query.where(fr.c.tenant_id == tenant)
    codes: set[str] = set()
    categories: set[str] = set()
    modes: set[str] = set()
    for code, category, mode in conn.execute(query):
        codes.add(code)
        categories.add(category)
        modes.add(mode)

    def values(seen: set[str]) -> list[str]:
        return sorted(str(v) for v in seen if v)

    return {"error_codes": values(codes), "categories": values(categories), "recovery_modes": values(modes)}
