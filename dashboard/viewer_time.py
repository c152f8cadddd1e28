"""Times in the viewer's time zone (the browser's, as Streamlit reports it), named wherever they are shown.

The database and the API keep UTC; only what a page draws is converted. Day and week buckets stay UTC days
and weeks (their boundaries are what the rollups count), and the charts that draw them say so."""
from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st


def zone_name() -> str:
    """The browser's IANA time zone when it reported a valid one, else "UTC"."""
    try:
        name = st.context.timezone
    except Exception:  # no browser session (bare runs, tests without a frontend)
        return "UTC"
    if not name or not isinstance(name, str) or len(name) > 64:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def viewer_zone() -> tzinfo:
    """The viewer's time zone object."""
    name = zone_name()
    return UTC if name == "UTC" else ZoneInfo(name)


def time_column(label: str, *, format: str = "YYYY-MM-DD HH:mm", **kwargs: Any) -> Any:
    """A table column of UTC instants drawn in the viewer's zone, its label naming the zone."""
    name = zone_name()
    return st.column_config.DatetimeColumn(f"{label} ({name})", format=format, timezone=name, **kwargs)


def local_text(ts: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant as text in the viewer's zone, with the zone's abbreviation (e.g. "2026-12-05 09:30 CET")."""
    if ts is None or pd.isna(ts):
        return "—"
    aware = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    local = aware.astimezone(viewer_zone())
    return f"{local.strftime(fmt)} {local.tzname() or zone_name()}"


def local_series(values: pd.Series) -> pd.Series:
    """UTC instants converted to the viewer's zone, for chart axes."""
    stamps = pd.to_datetime(values, utc=True)
    return stamps.dt.tz_convert(zone_name())
