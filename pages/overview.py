"""Overview: the original Grafana panels — hit rate, recovery success, unmatched, top codes, modes, health."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts
from dashboard.links import open_explore_on_click
from dashboard.overview import (
    HIT_RATE_ALERT,
    RECOVERY_ALERT,
    canary_verdict,
    health_source,
    load_canary,
    load_overview,
    prometheus_url_for,
    resample_series,
)
from dashboard.prometheus import load_prometheus_panels
from dashboard.session import require
from dashboard.text import lit
from dashboard.ui import BadgeColor, count_delta, empty_state, fmt_int, fmt_pct, guarded, page_header, points_delta
from dashboard.viewer_time import local_series, zone_name
from dashboard.widgets import tenant_picker, time_range, url_warnings

principal = require("read")
page_header("Overview", "Is the catalog recognising failures, and are recoveries working?")

left, right, _ = st.columns([1, 1, 2])
tenant = tenant_picker(principal, container=left)
rng = time_range(container=right)
url_warnings()

with guarded():
    data = load_overview(tenant, rng.start, rng.end)
    # Prometheus counters are deployment-wide: a tenant-scoped account gets database figures only.
    prom_url = prometheus_url_for(principal)
    health = load_canary(tenant, rng.start, rng.end, prom_url)
# Prometheus (when configured, all tenants, reachable) supplies the rate charts and live alerts.
prom_panels, rates_source = load_prometheus_panels(tenant, rng.start, rng.end)

now, prev = data.summary.iloc[0], data.previous.iloc[0]
if now["failures"] == 0:
    empty_state(f"No failures recorded in {rng.label.lower()}.",
                "Pick a longer time range, or load demo data with `failcat seed`.")
    st.stop()


cols = st.columns(5)
cols[0].metric("Failures", fmt_int(now["failures"]), count_delta(now["failures"], prev["failures"]),
               delta_color="inverse", border=True, help="Failures recorded in the range; delta vs the previous period.")
cols[1].metric("Hit rate", fmt_pct(now["hit_rate"]), points_delta(now["hit_rate"], prev["hit_rate"]), border=True,
               help="Matched / all failures. Alert below 70%.")
cols[2].metric("Unmatched", fmt_int(now["unmatched"]), count_delta(now["unmatched"], prev["unmatched"]),
               delta_color="inverse", border=True, help="Failures with no catalog entry (candidate patterns).")
cols[3].metric("Recovery success", fmt_pct(now["recovery_success_rate"]),
               points_delta(now["recovery_success_rate"], prev["recovery_success_rate"]), border=True,
               help="Successful / attempted recoveries. Alert below 50%.")
cols[4].metric("Recovery attempts", fmt_int(now["recovery_attempts"]),
               count_delta(now["recovery_attempts"], prev["recovery_attempts"]), delta_color="off", border=True)
st.caption(f"{rng.label} ({rng.start:%Y-%m-%d %H:%M} – {rng.end:%Y-%m-%d %H:%M} UTC), "
           + (f"compared with the {rng.previous.label}." if prev["failures"] else
              f"with nothing to compare: the {rng.previous.label} has no data."))

BADGE: dict[str, tuple[BadgeColor, str, str]] = {
    "ok": ("green", ":material/check_circle:", "OK"), "firing": ("red", ":material/error:", "FIRING"),
    "pending": ("orange", ":material/schedule:", "PENDING"), "unknown": ("gray", ":material/help:", "unknown"),
    "pass": ("green", ":material/check_circle:", "met"), "fail": ("red", ":material/error:", "not met"),
}


def _value(value: float | None, rate: bool) -> str:
    return "no data" if value is None else (fmt_pct(value) if rate else fmt_int(value))


def _rule(text: str) -> str:
    return text.replace("<=", "≤").replace(">=", "≥").replace("==", "=")


with st.container(border=True):
    a, c = st.columns([3, 2])
    with a:
        st.markdown("**Alert rules** (the deployment guide's, evaluated over the range)")
        for b in health.badges:
            color, icon, word = BADGE[b.state]
            shown = "" if b.value is None else f": {_value(b.value, '%' in b.condition)}"
            st.badge(f"{b.alert} ({_rule(b.condition)}) — {word}{shown}", color=color, icon=icon)
    with c:
        st.markdown(f"**Canary success criteria** — {canary_verdict(health)}")
        for cr in health.criteria:
            color, icon = BADGE[cr.status][:2]
            shown = "" if cr.value is None else f": {_value(cr.value, '%' in cr.target)}"
            st.badge(f"{cr.name} ({_rule(cr.target)}) — {cr.verdict}{shown}", color=color, icon=icon)
    st.caption(health_source(health, scoped=not principal.all_tenants))
    if prom_panels is not None:
        st.markdown("**Alerts in Prometheus now** (firing and pending)")
        if prom_panels.alerts.empty:
            st.caption("No alert is firing or pending in Prometheus.")
        for alert in prom_panels.alerts.itertuples():
            st.badge(f"{lit(alert.alertname)} · {lit(alert.severity)} · {alert.state.upper()} · {lit(alert.summary)}",
                     color="red" if alert.state == "firing" else "orange", icon=":material/notifications_active:")

span_h = (rng.end - rng.start).total_seconds() / 3600
freq, grain = ("h", "hour") if span_h <= 48 else (("6h", "6 hours") if span_h <= 24 * 14 else ("D", "day"))
series = resample_series(data.series, freq)
# Hour buckets are drawn in the viewer's zone; day buckets are UTC days (what the rollups count).
when = "day (UTC)" if freq == "D" else f"{grain} ({zone_name()})"
if freq != "D" and not series.empty:
    series = series.assign(bucket=local_series(series["bucket"]))
# The period the time charts cover, in the zone they are drawn in: hours without failures at either end still show.
utc_span = pd.Series(pd.to_datetime([rng.start, rng.end], utc=True))
local_span = tuple(local_series(utc_span))
span = tuple(utc_span) if freq == "D" else local_span

g1, g2 = st.columns(2)
if prom_panels is not None:
    hit_df, rec_df, x, hit_title, rec_title = (
        prom_panels.hit_rate.assign(ts=local_series(prom_panels.hit_rate["ts"])) if not prom_panels.hit_rate.empty
        else prom_panels.hit_rate,
        prom_panels.recovery_success.assign(ts=local_series(prom_panels.recovery_success["ts"]))
        if not prom_panels.recovery_success.empty else prom_panels.recovery_success,
        "ts", "Hit rate (10m rate, Prometheus)", "Recovery success rate (30m rate, Prometheus)")
    rate_when = f"time ({zone_name()})"
    rate_span = local_span
else:
    hit_df, rec_df, x, hit_title, rec_title = (series, series, "bucket", f"Hit rate per {grain}",
                                               f"Recovery success rate per {grain}")
    rate_when = when
    rate_span = span
g1.altair_chart(charts.build_rate_chart(hit_df, x=x, y="hit_rate", threshold=HIT_RATE_ALERT,
                                        threshold_label="alert < 70%", name="hit rate", title=hit_title,
                                        x_title=rate_when, y_title="matched failures (%)", span=rate_span),
                width="stretch")
g2.altair_chart(charts.build_rate_chart(rec_df, x=x, y="recovery_success_rate", threshold=RECOVERY_ALERT,
                                        threshold_label="alert < 50%", name="recovery success", title=rec_title,
                                        x_title=rate_when, y_title="successful recoveries (%)", span=rate_span),
                width="stretch")
st.caption(f"Hit rate and recovery success charts: source **{rates_source}**.")
g3, g4 = st.columns(2)
g3.altair_chart(charts.build_bar_chart(series, x="bucket", y="unmatched", color=charts.ALERT,
                                       title=f"Unmatched failures per {grain}", x_title=when,
                                       y_title=f"failures per {grain}", span=span), width="stretch")
top_colors = [charts.category_color(c) if m else charts.ALERT
              for c, m in zip(data.top_codes["category"], data.top_codes["matched"], strict=True)]
top = g4.altair_chart(charts.build_bar_chart(data.top_codes, x="error_code", y="failures", horizontal=True,
                                             color=top_colors, title="Top error codes", height=300,
                                             x_title="failures in the range", clickable=True),
                      width="stretch", key="overview_top_codes", on_select="rerun", selection_mode=charts.PICK)
g4.caption("Coloured by category, as on every chart (red: not in the catalog). Click a bar to list that code's "
           "failures in Explore.")
open_explore_on_click(top, "error_code", list(data.top_codes["error_code"]), filter_name="code", tenant=tenant)
modes = data.modes[data.modes["recovery_attempts"] > 0]
if modes.empty:
    st.caption("No recovery attempts in this range.")
else:
    st.altair_chart(charts.build_stacked_bar(modes, x="recovery_mode", ys=["recovery_successes", "recovery_failures"],
                                             labels=["succeeded", "failed"], colors=[charts.OK, charts.ALERT],
                                             title="Recovery attempts by mode", horizontal=True,
                                             height=max(200, 110 + 30 * len(modes)), x_title="recovery attempts"),
                    width="stretch")
