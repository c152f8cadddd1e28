"""Trends (product): hit rate and recovery success per day or week, volume by category, top movers against
the previous period, and codes first seen in the period."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import PICK
from dashboard.links import explorable, explore_link, explore_query, open_explore_on_click
from dashboard.session import require
from dashboard.text import text_frame
from dashboard.trend_charts import build_category_volume, build_rates_trend, build_top_movers
from dashboard.trends import (
    MIN_MOVER_VOLUME,
    load_category_volume,
    load_new_codes,
    load_period_totals,
    load_rate_trend,
    load_top_movers,
    partial_periods,
)
from dashboard.ui import count_delta, empty_state, fmt_int, fmt_pct, guarded, page_header, points_delta
from dashboard.viewer_time import time_column
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


tiles = st.columns(4)
tiles[0].metric("Failures", fmt_int(now_t["failures"]), delta=count_delta(now_t["failures"], prev_t["failures"]),
                delta_color="inverse", help=f"Against the {prev.label}")
tiles[1].metric("Hit rate", fmt_pct(now_t["hit_rate"]), delta=points_delta(now_t["hit_rate"], prev_t["hit_rate"]))
tiles[2].metric("Recovery success", fmt_pct(now_t["recovery_success_rate"]),
                delta=points_delta(now_t["recovery_success_rate"], prev_t["recovery_success_rate"]))
tiles[3].metric("New codes", fmt_int(len(new_codes)), help="Error codes first seen in this period")

if now_t["failures"] == 0:
    empty_state(f"No failures recorded in {window.label.lower()}.", "Pick a longer time range or another tenant.")
    st.stop()
if not prev_t["failures"]:
    st.info(f"The {prev.label} has no data, so nothing is compared: deltas and movers need a previous period.",
            icon=":material/info:")

left, right = st.columns(2)
with left:
    st.altair_chart(build_rates_trend(rates, title="Hit rate and recovery success", grain=grain,
                                      partial=partial_periods(rates["period"], window.start, window.end, grain)),
                    width="stretch", key="trends_rates")
with right:
    cut = [p for p, partial in zip(volume["period"], partial_periods(volume["period"], window.start, window.end,
                                                                      grain), strict=True) if partial]
    st.altair_chart(build_category_volume(volume, title="Failures by category", grain=grain, partial_periods=cut),
                    width="stretch", key="trends_volume")
st.caption("Open markers and lighter bars are periods not complete yet, or cut by the range.")

left, right = st.columns(2)
with left:
    st.subheader("Top movers", anchor=False)
    st.caption(f"Codes whose failures changed most against the {prev.label}, relative to what they were "
               f"(codes with at least {MIN_MOVER_VOLUME} failures in one of the two periods).")
    if not prev_t["failures"]:
        empty_state(f"No movers: the {prev.label} has no data.")
    elif movers.empty:
        empty_state("No code changed against the previous period.")
    else:
        moved = st.altair_chart(build_top_movers(movers), width="stretch", key="trends_movers",
                                on_select="rerun", selection_mode=PICK)
        st.caption("Click a bar to list that code's failures in Explore.")
        open_explore_on_click(moved, "error_code", list(movers["error_code"]), filter_name="code", tenant=tenant,
                              range_key="trends_range")
        # A code absent in the previous period has no percentage change: say "new" instead of None.
        # The links carry this page's tenant and range, so Explore counts what the table counts.
        shown = movers.assign(change_pct=movers["change_pct"].map(lambda v: "new" if pd.isna(v) else f"{v:+.0%}"),
                              link=[explore_link(**explore_query(tenant=tenant, range_key="trends_range", code=c))
                                    if explorable(c) else None for c in movers["error_code"]])
        st.dataframe(text_frame(shown), hide_index=True, width="stretch",
                     column_order=["error_code", "previous", "current", "change", "change_pct", "link"],
                     column_config={
            "error_code": "Code", "current": "This period", "previous": "Previous",
            "change": st.column_config.NumberColumn("Change", format="%+d"),
            "change_pct": st.column_config.TextColumn("Change %"),
            "link": st.column_config.LinkColumn("Failures", display_text="List", width="small"),
        })
with right:
    st.subheader("Codes first seen in this period", anchor=False)
    if new_codes.empty:
        empty_state("No new error codes in this period.")
    else:
        st.dataframe(text_frame(new_codes), hide_index=True, width="stretch", column_config={
            "error_code": "Code", "category": "Category", "failures": "Failures",
            "first_seen": time_column("First seen", format="YYYY-MM-DD HH:mm"),
        })
