"""The Overview's Prometheus source: hit rate and recovery success series and live alerts (queries.prometheus).

Used when PROMETHEUS_URL is set and the scope is all tenants (Prometheus series carry no tenant label, so
a single tenant's figures always come from the database). When Prometheus is unreachable the page falls
back to the database and says why.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from core.settings import get_settings
from queries import prometheus as prom

PROM_TTL = 15  # seconds: Prometheus is live data, and an outage should show up quickly


@dataclass(frozen=True)
class PromPanels:
    """Series and alerts read from Prometheus for one range."""

    url: str
    hit_rate: pd.DataFrame  # ts (UTC), hit_rate
    recovery_success: pd.DataFrame  # ts (UTC), recovery_success_rate
    alerts: pd.DataFrame  # alertname, state (firing | pending), severity, active_at, value, summary, ...
    step: int


@st.cache_data(ttl=PROM_TTL, show_spinner=False)
def _load(url: str, start: datetime, end: datetime, step: int) -> PromPanels:
    # PrometheusUnavailable propagates and is not cached, so the next run tries again.
    return PromPanels(
        url=url,
        hit_rate=prom.get_hit_rate_series(url, start=start, end=end, step=step),
        recovery_success=prom.get_recovery_success_series(url, start=start, end=end, step=step),
        alerts=prom.get_alerts(url),
        step=step,
    )


def load_prometheus_panels(tenant_id: str | None, start: datetime, end: datetime) -> tuple[PromPanels | None, str]:
    """Prometheus panels and a note saying which source the page used (None -> use the database)."""
    url = get_settings().prometheus_url
    if not url:
        return None, "database (PROMETHEUS_URL is not set)"
    if tenant_id is not None:
        return None, "database (Prometheus has no per-tenant series; choose all tenants to use it)"
    end = min(end, datetime.now(UTC))
    if end <= start:
        return None, "database (the range is in the future)"
    try:
        return _load(url, start, end, prom.default_step(start, end)), f"Prometheus ({url})"
    except prom.PrometheusUnavailable as exc:
        return None, f"database, because Prometheus is unreachable: {exc}"
