"""Overview: the original Grafana panels — hit rate, recovery success, unmatched, top codes, modes, health."""
from __future__ import annotations

import streamlit as st

from dashboard import charts
from dashboard.db import database_url
from dashboard.loaders_overview import load_health, load_overview
from dashboard.session import require
from dashboard.ui import empty_state, fmt_int, fmt_pct, guarded, page_header
from dashboard.widgets import tenant_picker, time_range, url_warnings
from queries.overview import HIT_RATE_ALERT, RECOVERY_ALERT, resample_series

principal = require("read")
page_header("Overview", "Is the catalog recognising failures, and are recoveries working?")

left, right, _ = st.columns([1, 1, 2])
tenant = tenant_picker(principal, container=left)
rng = time_range(container=right)
url_warnings()

with guarded():
    data = load_overview(database_url(), tenant, rng.start, rng.end)
    health = load_health(data, rng.start, rng.end)

now, prev = data.summary.iloc[0], data.previous.iloc[0]
if now["failures"] == 0:
    empty_state(f"No failures recorded in {rng.label.lower()}.",
                "Pick a longer time range, or load demo data with `failcat seed`.")
    st.stop()


def _pp(cur: float, old: float) -> str | None:
    """Delta in percentage points, or None when either side has no data."""
    if cur != cur or old != old:
        return None
    return f"{(cur - old) * 100:+.1f} pp"


def _count_delta(cur: int, old: int) -> str | None:
    return None if old == 0 else f"{(cur - old) / old:+.0%}"


cols = st.columns(5)
cols[0].metric("Failures", fmt_int(now["failures"]), _count_delta(now["failures"], prev["failures"]),
               delta_color="inverse", border=True, help="Failures recorded in the range; delta vs the previous period.")
cols[1].metric("Hit rate", fmt_pct(now["hit_rate"]), _pp(now["hit_rate"], prev["hit_rate"]), border=True,
               help="Matched / all failures. Alert below 70%.")
cols[2].metric("Unmatched", fmt_int(now["unmatched"]), _count_delta(now["unmatched"], prev["unmatched"]),
               delta_color="inverse", border=True, help="Failures with no catalog entry (candidate patterns).")
cols[3].metric("Recovery success", fmt_pct(now["recovery_success_rate"]),
               _pp(now["recovery_success_rate"], prev["recovery_success_rate"]), border=True,
               help="Successful / attempted recoveries. Alert below 50%.")
cols[4].metric("Recovery attempts", fmt_int(now["recovery_attempts"]),
               _count_delta(now["recovery_attempts"], prev["recovery_attempts"]), delta_color="off", border=True)
st.caption(f"{rng.label} ({rng.start:%Y-%m-%d %H:%M} – {rng.end:%Y-%m-%d %H:%M} UTC), "
           f"compared with the {rng.previous.label}.")

BADGE = {"ok": ("green", ":material/check_circle:", "OK"), "firing": ("red", ":material/error:", "FIRING"),
         "unknown": ("gray", ":material/help:", "no data")}
with st.container(border=True):
    a, c = st.columns([3, 2])
    with a:
        st.markdown("**Alert rules** (evaluated over the range)")
        for row in health.alerts.itertuples():
            color, icon, word = BADGE[row.state]
            value = "" if row.value is None or row.value != row.value else (
                fmt_pct(row.value) if "rate" in row.rule or "success" in row.rule else fmt_int(row.value))
            st.badge(f"{row.alert} · {row.rule} · {word}{' · ' + value if value else ''}", color=color, icon=icon)
    with c:
        st.markdown("**Canary success criteria**")
        for row in health.canary.itertuples():
            state = "unknown" if row.passed is None else ("ok" if row.passed else "firing")
            color, icon, _ = BADGE[state]
            shown = "no data" if row.value is None else (
                fmt_pct(row.value) if row.criterion != "Dropped persistence events" else fmt_int(row.value))
            verdict = {"ok": "met", "firing": "not met", "unknown": "unknown"}[state]
            st.badge(f"{row.criterion} {row.target}: {shown} — {verdict}", color=color, icon=icon)
    st.caption(f"Source: **{health.source}**. {health.note}")

span_h = (rng.end - rng.start).total_seconds() / 3600
freq, grain = ("h", "hour") if span_h <= 48 else (("6h", "6 hours") if span_h <= 24 * 14 else ("D", "day"))
series = resample_series(data.series, freq)

g1, g2 = st.columns(2)
g1.plotly_chart(charts.build_rate_chart(series, x="bucket", y="hit_rate", threshold=HIT_RATE_ALERT,
                                        threshold_label="alert < 70%", name="hit rate",
                                        title=f"Hit rate per {grain}"), width="stretch")
g2.plotly_chart(charts.build_rate_chart(series, x="bucket", y="recovery_success_rate", threshold=RECOVERY_ALERT,
                                        threshold_label="alert < 50%", name="recovery success",
                                        title=f"Recovery success rate per {grain}"), width="stretch")
g3, g4 = st.columns(2)
g3.plotly_chart(charts.build_bar_chart(series, x="bucket", y="unmatched", color=charts.ALERT,
                                       title=f"Unmatched failures per {grain}"), width="stretch")
g4.plotly_chart(charts.build_bar_chart(data.top_codes, x="error_code", y="failures", horizontal=True,
                                       title="Top error codes", height=300), width="stretch")
modes = data.modes[data.modes["recovery_attempts"] > 0]
if modes.empty:
    st.caption("No recovery attempts in this range.")
else:
    st.plotly_chart(charts.build_stacked_bar(modes, x="recovery_mode", ys=["recovery_successes", "recovery_failures"],
                                             labels=["succeeded", "failed"], colors=[charts.OK, charts.ALERT],
                                             title="Recovery attempts by mode", horizontal=True,
                                             height=60 + 32 * len(modes)), width="stretch")
