"""Cached loaders for the Overview page (rollup aggregates; health from Prometheus when configured)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from core.security import Principal
from core.settings import get_settings
from dashboard.cache import cached_loader
from dashboard.db import Database
from queries.reports import overview as q
from queries.reports.canary import CanaryResult, evaluate_canary
from queries.reports.overview import HIT_RATE_ALERT, RECOVERY_ALERT, resample_series

__all__ = ["HIT_RATE_ALERT", "RECOVERY_ALERT", "resample_series"]  # for the Overview page


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
def load_overview(db: Database, tenant_id: str | None, start: datetime, end: datetime) -> OverviewData:
    """Summary (this and the previous period), hourly series, top codes, recovery by mode, export fallbacks."""
    with db.connect() as conn:
        frames = q.get_overview(conn, tenant_id=tenant_id, start=start, end=end, limit=10)
        fallbacks = q.count_export_fallbacks(conn, tenant_id=tenant_id, start=start, end=end)
        return OverviewData(**frames, fallbacks=fallbacks)


@cached_loader(ttl=30)
def load_canary(db: Database, tenant_id: str | None, start: datetime, end: datetime,
                prometheus_url: str | None) -> CanaryResult:
    """The guide's alert badges and canary criteria for the range (queries.reports.canary: database + Prometheus)."""
    with db.connect() as conn:
        return evaluate_canary(conn, tenant_id=tenant_id, start=start, end=end, prometheus_url=prometheus_url)


def canary_verdict(result: CanaryResult) -> str:
    """The canary's overall verdict (met, not met, unknown), saying why when it is unknown."""
    if result.verdict == "unknown":
        return "unknown (no criterion failed, but not every one could be measured)"
    return result.verdict


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


def prometheus_url_for(principal: Principal) -> str | None:
    """PROMETHEUS_URL for an account of all tenants; None for a tenant-scoped one (Prometheus counts the whole
    deployment)."""
    return get_settings().prometheus_url if principal.all_tenants else None
