"""Cached loaders for the Overview page (rollup aggregates; health from Prometheus when configured)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from core.settings import get_settings
from dashboard.cache import cached_loader
from dashboard.db import connect
from queries import overview as q


@dataclass(frozen=True)
class OverviewData:
    """Everything the Overview page draws for one tenant scope and range."""

    summary: pd.DataFrame
    previous: pd.DataFrame
    series: pd.DataFrame
    top_codes: pd.DataFrame
    modes: pd.DataFrame
    fallbacks: int


@cached_loader()
def load_overview(url: str, tenant: str | None, start: datetime, end: datetime) -> OverviewData:
    """Summary (this and the previous period), hourly series, top codes, recovery by mode, export fallbacks."""
    prev_start = start - (end - start)
    with connect(url) as conn:
        return OverviewData(
            summary=q.get_summary(conn, tenant=tenant, start=start, end=end),
            previous=q.get_summary(conn, tenant=tenant, start=prev_start, end=start),
            series=q.get_rate_series(conn, tenant=tenant, start=start, end=end),
            top_codes=q.get_top_codes(conn, tenant=tenant, start=start, end=end, limit=10),
            modes=q.get_recovery_by_mode(conn, tenant=tenant, start=start, end=end),
            fallbacks=q.count_export_fallbacks(conn, tenant=tenant, start=start, end=end),
        )


@dataclass(frozen=True)
class Health:
    """Alert badges and canary criteria, and where their inputs came from."""

    alerts: pd.DataFrame
    canary: pd.DataFrame
    source: str  # "database" or "Prometheus"
    note: str


def _prometheus_dropped(start: datetime, end: datetime) -> float | None:
    """failure_persist_dropped_total increase over the range from Prometheus, when queries.prom offers it."""
    try:
        from queries import prom  # written by the metrics developer; optional
    except ImportError:
        return None
    fetch = getattr(prom, "get_dropped_increase", None) or getattr(prom, "dropped_increase", None)
    if fetch is None:
        return None
    try:
        return float(fetch(get_settings().prometheus_url, start=start, end=end))
    except Exception:  # noqa: BLE001 - Prometheus being down must not break the page; we fall back
        return None


def load_health(data: OverviewData, start: datetime, end: datetime) -> Health:
    """Evaluate the guide's alerts and the canary criteria for the range (rates from the database rollups)."""
    dropped = _prometheus_dropped(start, end) if get_settings().prometheus_url else None
    if dropped is None:
        source = "database"
        note = ("Rates computed from the database rollups. Dropped persistence events are only known to "
                "Prometheus (failure_persist_dropped_total): set PROMETHEUS_URL to evaluate them.")
    else:
        source = "Prometheus"
        note = "Rates from the database rollups; dropped persistence events from Prometheus."
    return Health(
        alerts=q.evaluate_alerts(data.summary, dropped=dropped, fallbacks=data.fallbacks),
        canary=q.evaluate_canary(data.summary, dropped=dropped),
        source=source,
        note=note,
    )
