"""Cached loaders for the Overview page (rollup aggregates; health from Prometheus when configured)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from dashboard.cache import cached_loader
from dashboard.db import connect
from queries.reports import overview as q
from queries.reports.canary import CanaryResult, evaluate_canary


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
    with connect(url) as conn:
        frames = q.get_overview(conn, tenant=tenant, start=start, end=end, limit=10)
        return OverviewData(**frames, fallbacks=q.count_export_fallbacks(conn, tenant=tenant, start=start, end=end))


@cached_loader(ttl=30)
def load_canary(url: str, tenant: str | None, start: datetime, end: datetime,
                prometheus_url: str | None) -> CanaryResult:
    """The guide's alert badges and canary criteria for the range (queries.reports.canary: database + Prometheus)."""
    with connect(url) as conn:
        return evaluate_canary(conn, tenant=tenant, start=start, end=end, prometheus_url=prometheus_url)


def health_source(result: CanaryResult, *, scoped: bool = False) -> str:
    """One sentence saying where the badge and criteria values came from."""
    if result.prometheus == "used":
        return ("Source: **database** (rates, export fallbacks) and **Prometheus** "
                "(dropped persistence events, critical alerts).")
    if scoped:
        why = "Prometheus counts the whole deployment, so it is not used for a tenant-scoped account"
    elif result.prometheus == "not configured":
        why = "PROMETHEUS_URL is not set"
    else:
        why = f"Prometheus is {result.prometheus}"
    return (f"Source: **database** (rates, export fallbacks). Dropped persistence events and critical alerts "
            f"are only known to Prometheus and show as unknown: {why}.")
