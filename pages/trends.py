"""Trends (product): hit rate and recovery success per day or week, volume by category, top movers against
the previous period, and codes first seen in the period."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.session import require
from dashboard.trend_charts import build_category_volume, build_rates_trend, build_top_movers
from dashboard.trends import (
    load_category_volume,
    load_new_codes,
    load_period_totals,
    load_rate_trend,
    load_top_movers,
)
from dashboard.ui import empty_state, fmt_int, fmt_pct, guarded, page_header
from dashboard.widgets import seed_state, set_url, tenant_picker, time_range, url_value, url_warnings


def _bad(value: str) -> str:
    raise ValueError("use day or week")


principal = require("read")
page_header("Trends", "How the catalog and recoveries are doing over time, and what changed since the "
            "previous period of the same length.")
c1, c2, c3 = st.columns([1, 1, 1])
tenant = tenant_picker(principal, key="trends_tenant", container=c1)
window = time_range(key="trends_range", container=c2, default="30d")
seed_state("trends_grain", url_value("grain", "day", lambda v: v if v in ("day", "week") else _bad(v)))
grain = c3.radio("Grain", ["day", "week"], horizontal=True, key="trends_grain",
                 format_func={"day": "Daily", "week": "Weekly (Mon)"}.get)
set_url(grain=None if grain == "day" else grain)
url_warnings()


prev = window.previous
with guarded():
    now_t = load_period_totals(tenant, window.start, window.end)
    prev_t = load_period_totals(tenant, prev.start, prev.end)
    rates = load_rate_trend(tenant, window.start, window.end, grain)
    volume = load_category_volume(tenant, window.start, window.end, grain)
    movers = load_top_movers(tenant, window.start, window.end)
    new_codes = load_new_codes(tenant, window.start, window.end)


def _delta_pct(cur: float, old: float) -> str | None:
    if cur != cur or old != old:
        return None
    return f"{(cur - old) * 100:+.1f} pts"


tiles = st.columns(4)
tiles[0].metric("Failures", fmt_int(now_t["failures"]),
                delta=f"{int(now_t['failures'] - prev_t['failures']):+,}", delta_color="inverse",
                help=f"Against the {prev.label}")
tiles[1].metric("Hit rate", fmt_pct(now_t["hit_rate"]), delta=_delta_pct(now_t["hit_rate"], prev_t["hit_rate"]))
tiles[2].metric("Recovery success", fmt_pct(now_t["recovery_success_rate"]),
                delta=_delta_pct(now_t["recovery_success_rate"], prev_t["recovery_success_rate"]))
tiles[3].metric("New codes", fmt_int(len(new_codes)), help="Error codes first seen in this period")

if now_t["failures"] == 0:
    empty_state(f"No failures recorded in {window.label.lower()}.", "Pick a longer time range or another tenant.")
    st.stop()

left, right = st.columns(2)
with left:
    st.plotly_chart(build_rates_trend(rates, title="Hit rate and recovery success"), width="stretch",
                    key="trends_rates")
with right:
    st.plotly_chart(build_category_volume(volume, title="Failures by category"), width="stretch",
                    key="trends_volume")

left, right = st.columns(2)
with left:
    st.subheader("Top movers", anchor=False)
    st.caption(f"Largest changes in failures per code against the {prev.label}.")
    if movers.empty:
        empty_state("No code changed against the previous period.")
    else:
        st.plotly_chart(build_top_movers(movers), width="stretch", key="trends_movers")
        # A code absent in the previous period has no percentage change: say "new" instead of None.
        shown = movers.assign(change_pct=movers["change_pct"].map(lambda v: "new" if pd.isna(v) else f"{v:+.0%}"))
        st.dataframe(shown, hide_index=True, width="stretch", column_config={
            "error_code": "Code", "current": "This period", "previous": "Previous", "change": "Change",
            "change_pct": st.column_config.TextColumn("Change %"),
        })
with right:
    st.subheader("Codes first seen in this period", anchor=False)
    if new_codes.empty:
        empty_state("No new error codes in this period.")
    else:
        st.dataframe(new_codes, hide_index=True, width="stretch", column_config={
            "error_code": "Code", "category": "Category", "failures": "Failures",
            "first_seen": st.column_config.DatetimeColumn("First seen (UTC hour)", format="YYYY-MM-DD HH:mm"),
        })
