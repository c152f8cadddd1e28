"""Click-through to Explore: a clicked bar or row names a code, category or group, and Explore opens filtered to it
with the page's tenant and time range (like Grafana's data links). Links from Explore to a failure carry Explore's
query, so the failure's back link returns to the same view."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pandas as pd
import streamlit as st

from dashboard.charts import PICK
from dashboard.filters import CODE_PATTERN
from dashboard.text import lit
from dashboard.widgets import range_params

# Explore's own query parameters: the filter panel's (dashboard/filters.py, with the tenant and range widgets)
# and its views'. A `back` value naming anything else was not made by Explore.
EXPLORE_PARAMS = frozenset({"tenant", "range", "from", "to", "code", "category", "severity", "matched", "status",
                            "mode", "skill", "run", "sig", "q", "view", "group", "gstate", "gsort"})
MAX_BACK = 4000


def explore_query(*, tenant: str | None = None, range_key: str = "range", **filters: str) -> dict[str, str]:
    """Explore's query parameters: the filters given, and the tenant and time range (the range widget `range_key`)
    of the page linking there."""
    params = {k: v for k, v in filters.items() if v}
    if tenant:
        params["tenant"] = tenant
    return {**params, **range_params(range_key)}


def explorable(code: str) -> bool:
    """Whether Explore can be opened filtered to this code: its URL takes codes of letters, digits and `_.:/-`
    (a comma would split one code into two), while ingest stores any text."""
    return bool(CODE_PATTERN.match(code))


def explore_link(**filters: str) -> str:
    """A relative link to Explore with these filters (for link columns)."""
    return "explore?" + urlencode({k: v for k, v in filters.items() if v})


def clicked(event: Any, field: str, values: Sequence[str]) -> str | None:
    """The `field` value of the bar a person clicked in a clickable chart (its point selection `PICK`), if it is
    one of the chart's `values` (the browser reports the selection; anything else is ignored)."""
    selection = getattr(event, "selection", None) or {}
    points = selection.get(PICK) if hasattr(selection, "get") else None
    for point in points if isinstance(points, list) else []:
        value = point.get(field) if isinstance(point, dict) else None
        if isinstance(value, str) and value in values:
            return value
    return None


def open_explore_on_click(event: Any, field: str, values: Sequence[str], *, filter_name: str,
                          tenant: str | None, range_key: str = "range") -> None:
    """When a bar was clicked, open Explore filtered to its value (code=..., category=...)."""
    value = clicked(event, field, [str(v) for v in values])
    if value is not None and filter_name == "code" and not explorable(value):
        st.warning(f"Explore cannot be filtered to the code {lit(value)}: it holds characters other than letters, "
                   "digits and `_.:/-`. Search for it in Explore's text filter instead.", icon=":material/warning:")
    elif value is not None:
        st.switch_page("pages/explore.py",
                       query_params=explore_query(tenant=tenant, range_key=range_key, **{filter_name: value}))


def _explore_params(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The pairs as Explore's query, or {} when one is not Explore's, repeats, or holds control characters."""
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in EXPLORE_PARAMS or name in params or any(ord(c) < 32 or ord(c) == 127 for c in value):
            return {}
        params[name] = value
    return params


def explore_back(raw: str | None) -> dict[str, str]:
    """The Explore query a failure link's `back` value carries; {} unless it is a query of Explore's parameters."""
    if not raw or len(raw) > MAX_BACK:
        return {}
    try:
        # strict: a URL, a scheme or a path (no name=value pairs) is refused rather than read as a name
        pairs = parse_qsl(raw, strict_parsing=True, max_num_fields=len(EXPLORE_PARAMS))
    except ValueError:
        return {}
    return _explore_params(pairs)


def explore_view(tenant_id: str | None) -> dict[str, str]:
    """This Explore page's query as its URL holds it, naming the tenant it shows (a scoped account's own)."""
    params = {name: st.query_params[name] for name in st.query_params if name in EXPLORE_PARAMS - {"tenant"}}
    if tenant_id is not None:
        params["tenant"] = tenant_id
    return params


def detail_links(ids: pd.Series, back: Mapping[str, str]) -> pd.Series:
    """Relative links to failures' pages carrying the Explore query `back` for their back link."""
    query = urlencode(_explore_params(back.items()))
    suffix = "&" + urlencode({"back": query}) if query and len(query) <= MAX_BACK else ""
    return "failure?id=" + ids.astype(str) + suffix
