"""Trends glue: cached loaders around queries.reports.trends (the tenant scope always passed)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from core.types import utcnow
from dashboard.cache import cached_loader
from dashboard.db import Database
from queries.reports import trends as q


@cached_loader()
def load_rate_trend(db: Database, tenant_id: str | None, start: datetime, end: datetime,
                    grain: str) -> pd.DataFrame:
    """Hit rate and recovery success per day or week."""
    with db.connect() as conn:
        return q.get_rate_trend(conn, tenant_id=tenant_id, start=start, end=end, grain=grain)


@cached_loader()
def load_category_volume(db: Database, tenant_id: str | None, start: datetime, end: datetime,
                         grain: str) -> pd.DataFrame:
    """Failures per period and category."""
    with db.connect() as conn:
        return q.get_category_volume(conn, tenant_id=tenant_id, start=start, end=end, grain=grain)


MIN_MOVER_VOLUME = q.MIN_MOVER_VOLUME


@cached_loader()
def load_top_movers(db: Database, tenant_id: str | None, start: datetime, end: datetime,
                    limit: int = 10) -> pd.DataFrame:
    """Codes with the largest relative change against the previous period."""
    with db.connect() as conn:
        return q.get_top_movers(conn, tenant_id=tenant_id, start=start, end=end, limit=limit)


@cached_loader()
def load_new_codes(db: Database, tenant_id: str | None, start: datetime, end: datetime) -> pd.DataFrame:
    """Codes first seen in the period."""
    with db.connect() as conn:
        return q.get_new_codes(conn, tenant_id=tenant_id, start=start, end=end)


@cached_loader()
def load_period_totals(db: Database, tenant_id: str | None, start: datetime, end: datetime) -> dict[str, float]:
    """Totals (failures, hit rate, recovery success) of one window."""
    with db.connect() as conn:
        return q.get_period_totals(conn, tenant_id=tenant_id, start=start, end=end)


def partial_periods(periods: pd.Series, start: datetime, end: datetime, grain: str,
                    now: datetime | None = None) -> list[bool]:
    """Which periods (day or week starts) are not whole: cut by the range's start or end, or not over yet."""
    span = timedelta(days=7 if grain == "week" else 1)
    now = now or utcnow()
    out = []
    for value in periods:
        begin = pd.Timestamp(value).to_pydatetime()
        out.append(begin < start or begin + span > end or begin + span > now)
    return out
