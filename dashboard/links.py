"""Click-through to Explore: a clicked bar or row names a code, category or group, and Explore opens filtered to it
with the page's tenant and time range (like Grafana's data links)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from dashboard.widgets import range_params


def explore_query(*, tenant: str | None = None, range_key: str = "range", **filters: str) -> dict[str, str]:
    """Explore's query parameters: the filters given, and the tenant and time range (the range widget `range_key`)
    of the page linking there."""
    params = {k: v for k, v in filters.items() if v}
    if tenant:
        params["tenant"] = tenant
    return {**params, **range_params(range_key)}


def explore_link(**filters: str) -> str:
    """A relative link to Explore with these filters (for link columns)."""
    return "explore?" + urlencode({k: v for k, v in filters.items() if v})


def clicked(event: Any, values: Sequence[str]) -> str | None:
    """The value behind the point a person clicked in a plotly chart (values in the chart's point order)."""
    points = getattr(getattr(event, "selection", None), "points", None) or []
    for point in points:
        index = point.get("point_index", point.get("point_number"))
        if isinstance(index, int) and 0 <= index < len(values):
            return values[index]
    return None


def open_explore_on_click(event: Any, values: Sequence[str], *, filter_name: str, tenant: str | None,
                          range_key: str = "range") -> None:
    """When a bar was clicked, open Explore filtered to its value (code=..., category=...)."""
    value = clicked(event, values)
    if value is not None:
        st.switch_page("pages/explore.py",
                       query_params=explore_query(tenant=tenant, range_key=range_key, **{filter_name: value}))
