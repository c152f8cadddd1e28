"""Shared widgets: tenant picker within the principal's scope, time range, URL-synced filter values."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core.db import DatabaseUnavailable
from core.security import Principal
from core.settings import get_settings
from dashboard.cache import clear_caches
from dashboard.scope import load_tenants
from dashboard.text import lit
from dashboard.ui import db_error

T = TypeVar("T")
ALL_TENANTS = "All tenants"
PRESETS: dict[str, timedelta] = {
    "1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7),
    "30d": timedelta(days=30), "90d": timedelta(days=90),
}
PRESET_LABELS = {"1h": "This hour", "24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days",
                 "90d": "Last 90 days", "custom": "Custom dates"}
_WARN_KEY = "failcat_url_warnings"


@dataclass(frozen=True)
class TimeRange:
    """A half-open UTC interval [start, end) with a label for humans."""

    start: datetime
    end: datetime
    label: str

    @property
    def previous(self) -> TimeRange:
        """The period of the same length just before this one (for period-over-period deltas)."""
        span = self.end - self.start
        return TimeRange(self.start - span, self.start, f"previous {self.label.lower()}")

    def describe(self) -> str:
        """The dates covered, for a caption: '1 Nov - 30 Nov 2026 (UTC days)' or with hours when not whole days."""
        last = self.end - timedelta(microseconds=1)
        if self.start.time() == time.min and self.end.time() == time.min:
            return f"{self.start:%-d %b} – {last:%-d %b %Y} (UTC days)"
        return f"{self.start:%-d %b %H:%M} – {self.end:%-d %b %Y %H:%M} UTC"


def _warn(message: str) -> None:
    st.session_state.setdefault(_WARN_KEY, [])
    if message not in st.session_state[_WARN_KEY]:
        st.session_state[_WARN_KEY].append(message)


def url_warnings() -> None:
    """Show (once) the URL values that were ignored because they were not valid."""
    for message in st.session_state.pop(_WARN_KEY, []):
        st.warning(message, icon=":material/link_off:")


def url_value(name: str, default: T, parse: Callable[[str], T] | None = None) -> T:
    """The query parameter `name` parsed with `parse` (default: the string); bad values -> default + warning."""
    raw = st.query_params.get(name)
    if raw in (None, ""):
        return default
    if parse is None:
        return raw  # type: ignore[return-value]
    try:
        return parse(raw)
    except (ValueError, TypeError) as exc:
        _warn(f"Ignored {lit(f'{name}={raw}', limit=80)} from the link: {exc}")
        return default


def url_list(name: str, allowed: Sequence[str] | None = None) -> list[str]:
    """A comma-separated query parameter as a list; values outside `allowed` are dropped with a warning."""
    raw = st.query_params.get(name) or ""
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            _warn(f"Ignored unknown {name} in the link: {', '.join(lit(b, limit=60) for b in bad[:5])}")
        values = [v for v in values if v in allowed]
    return values


def set_url(**values: Any) -> None:
    """Write filter values to the URL; empty values are removed so links stay short."""
    for name, value in values.items():
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, (date, datetime)):
            value = value.isoformat()
        if value in (None, ""):
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != str(value):
            st.query_params[name] = str(value)


def seed_state(key: str, value: Any) -> None:
    """Give a widget its first value (from the URL) without fighting the user's later changes."""
    if key not in st.session_state:
        st.session_state[key] = value


def tenant_picker(principal: Principal, *, key: str = "tenant", container: Any = None) -> str | None:
    """Tenant to show: a scoped principal's own tenant (fixed), or a choice among the visible tenants."""
    where = container or st
    if principal.tenant_id is not None:
        wanted = url_value("tenant", None)
        if wanted is not None and wanted != principal.tenant_id:
            # Said whether that tenant exists or not: the notice must not tell which ones do.
            _warn(f"Your account sees tenant {lit(principal.tenant_id, limit=80)} only: the link's tenant was "
                  "ignored.")
        where.text_input("Tenant", value=principal.tenant_id, disabled=True, key=f"{key}_fixed")
        return principal.tenant_id
    try:
        tenants = load_tenants(None)
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        db_error(exc)
        return None
    wanted = url_value("tenant", None)
    if wanted is not None and wanted not in tenants:
        tenants = _fresh_tenants(tenants)  # a tenant whose first failures arrived since the list was cached
    if wanted is not None and wanted not in tenants:
        _warn(f"Ignored unknown tenant {lit(wanted, limit=80)} from the link.")
        wanted = None
    seed_state(key, wanted or ALL_TENANTS)
    choice = where.selectbox("Tenant", [ALL_TENANTS, *tenants], key=key)
    tenant = None if choice == ALL_TENANTS else choice
    set_url(tenant=tenant)
    return tenant


def _fresh_tenants(cached: list[str]) -> list[str]:
    try:
        clear_caches(load_tenants)
        return load_tenants(None)
    except (DatabaseUnavailable, SQLAlchemyError):
        return cached


def _parse_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError("use a date such as 2026-01-31") from None


def time_range(*, key: str = "range", container: Any = None, default: str = "7d",
               now: datetime | None = None, whole_days: bool = True) -> TimeRange:
    """Preset or custom time range, kept in the URL as range=7d or range=custom&from=...&to=...

    whole_days (default): presets of several days are that many whole UTC days ending with today, so daily
    charts have no partial first day and the daily rollups answer without hourly edges; "This hour" and
    "Last 24 hours" stay whole hours ending with the current one."""
    where = container or st
    now = now or datetime.now(UTC)
    options = [*PRESETS, "custom"]
    preset = url_value("range", default, lambda v: v if v in options else _bad_range(v))
    seed_state(key, preset)
    preset = where.selectbox("Time range", options, key=key, format_func=PRESET_LABELS.get)
    if preset != "custom":
        set_url(range=None if preset == default else preset, **{"from": None, "to": None})
        # Whole hours (ending with the current one): rollups and raw rows then cover the same rows,
        # and reruns within the hour share cached results.
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        if whole_days and PRESETS[preset] >= timedelta(days=2):
            end = datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=UTC)
        chosen = TimeRange(end - PRESETS[preset], end, PRESET_LABELS[preset])
        where.caption(chosen.describe())
        return chosen
    # Nothing is kept beyond retention, and nothing is ahead of tomorrow: dates outside are refused.
    earliest, latest = now.date() - timedelta(days=get_settings().retention_days), now.date() + timedelta(days=1)

    def within(raw: str) -> date:
        day = _parse_date(raw)
        if not earliest <= day <= latest:
            raise ValueError(f"pick a date from {earliest.isoformat()} to {latest.isoformat()}")
        return day

    first = url_value("from", max(earliest, (now - timedelta(days=7)).date()), within)
    last = url_value("to", now.date(), within)
    seed_state(f"{key}_dates", (first, last))
    picked = where.date_input("Dates (UTC)", key=f"{key}_dates", min_value=earliest, max_value=latest)
    if not isinstance(picked, (tuple, list)) or len(picked) != 2:
        picked = (first, last)  # the user is between the two clicks of a range selection
    first, last = sorted(picked)
    set_url(range="custom", **{"from": first, "to": last})
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    return TimeRange(start, end, f"{first.isoformat()} to {last.isoformat()}")


def range_params(key: str = "range") -> dict[str, str]:
    """The URL parameters of the time range widget `key` as it is now (for links to other pages)."""
    preset = st.session_state.get(key)
    if preset in PRESETS:
        return {"range": preset}
    dates = st.session_state.get(f"{key}_dates")
    if preset == "custom" and isinstance(dates, (tuple, list)) and len(dates) == 2:
        return {"range": "custom", "from": dates[0].isoformat(), "to": dates[1].isoformat()}
    return {}


def _bad_range(value: str) -> str:
    raise ValueError(f"use one of {', '.join([*PRESETS, 'custom'])}")
