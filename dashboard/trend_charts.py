"""Pure Vega-Lite (Altair) builders for the Trends page (no Streamlit; unit-tested on plain frames)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from dashboard.charts import (
    ALERT,
    OK,
    PICK,
    PRIMARY,
    bar_spans,
    category_color,
    describe,
    finish,
    percent_axis,
    threshold_layers,
    time_labels,
    wall_clock,
    x_channel,
)
from dashboard.visible import visible_text

HIT_RATE_ALERT = 0.70  # the original guide's alert: miss rate above 30%
RECOVERY_ALERT = 0.50  # the original guide's alert: recovery success below 50%
RATE_SERIES = ("Hit rate", "Recovery success")


def _column(df: pd.DataFrame, name: str) -> list[Any]:
    return list(df[name]) if name in df else [0] * len(df)


def build_rates_trend(df: pd.DataFrame, *, title: str | None = None, height: int = 380,
                      partial: Sequence[bool] | None = None, grain: str = "day") -> Any:
    """Hit rate and recovery success per period (columns period, hit_rate, recovery_success_rate), with the two
    alert lines; periods not complete yet (or cut by the range) are drawn as open markers and said so on hover."""
    flags = list(partial) if partial is not None else [False] * len(df)
    note = [f"partial {grain}" if p else "complete" for p in flags]
    # The denominators ride along in the hover, so a 0% day with one failure reads as what it is.
    of = [f"{v:,} failures" for v in _column(df, "failures")] + [f"{v:,} attempts"
                                                                 for v in _column(df, "recovery_attempts")]
    long = pd.DataFrame({
        "period": list(wall_clock(df["period"])) * 2,
        "when": time_labels(df["period"], with_time=grain == "hour") * 2,
        "series": [RATE_SERIES[0]] * len(df) + [RATE_SERIES[1]] * len(df),
        "rate": list(df["hit_rate"]) + list(df["recovery_success_rate"]),
        "of": of, "partial": flags * 2, "state": note * 2,
    })
    x_title, y_title = f"{grain} (UTC)", "share (%)"
    colour = alt.Color("series:N", scale=alt.Scale(domain=list(RATE_SERIES), range=[PRIMARY, OK]))
    x = x_channel(df["period"], "period", x_title)
    tooltip = [alt.Tooltip("when:N", title=grain), alt.Tooltip("series:N", title="series"),
               alt.Tooltip("rate:Q", title="share", format=".1%"), alt.Tooltip("of:N", title="of"),
               alt.Tooltip("state:N", title="period")]
    line = alt.Chart(long).mark_line(strokeWidth=2, invalid="break-paths-show-domains").encode(
        x=x, y=percent_axis("rate", y_title), color=colour, detail="series:N")
    points = alt.Chart(long).mark_point(size=45, strokeWidth=2, opacity=1).encode(
        x=x, y=alt.Y("rate:Q"), color=colour, tooltip=tooltip,
        fill=alt.condition("datum.partial", alt.value("white"), colour))
    layers: list[Any] = [line, points]
    for level, label in ((HIT_RATE_ALERT, "hit rate alert 70%"), (RECOVERY_ALERT, "recovery alert 50%")):
        layers += threshold_layers(level, label)
    return finish(alt.layer(*layers), title=title, height=height, description=describe(title, x_title, y_title))


def build_category_volume(df: pd.DataFrame, *, title: str | None = None, height: int = 380,
                          partial_periods: Sequence[Any] = (), grain: str = "day") -> Any:
    """Stacked failures per period and category (columns period, category, failures); largest category first.
    Periods not complete yet (or cut by the range) are drawn lighter and named on hover."""
    order = [visible_text(c) for c in df.groupby("category")["failures"].sum().sort_values(ascending=False).index] \
        if not df.empty else []
    cut = set(partial_periods)
    starts, ends = bar_spans(df["period"])
    data = pd.DataFrame({
        "period": starts, "end": ends, "when": time_labels(df["period"], with_time=grain == "hour"),
        "category": [visible_text(c) for c in df["category"]], "failures": df["failures"],
        "rank": [order.index(visible_text(c)) for c in df["category"]],
        "state": [f"partial {grain}" if p in cut else "complete" for p in df["period"]],
    }).sort_values(["period", "rank"], kind="stable")
    # Stacked here, largest category at the bottom: each bar spans [base, top) of its period's column.
    data["top"] = data.groupby("period")["failures"].cumsum()
    data["base"] = data["top"] - data["failures"]
    data["aria"] = [f"{w}: {n:,} {c} ({s})" for w, n, c, s in
                    zip(data["when"], data["failures"], data["category"], data["state"], strict=True)]
    x_title, y_title = f"{grain} (UTC)", f"failures per {grain}"
    chart = alt.Chart(data).mark_bar().encode(
        x=x_channel(df["period"], "period", x_title), x2="end:T",
        y=alt.Y("base:Q", title=y_title, axis=alt.Axis(tickMinStep=1)), y2="top:Q",
        color=alt.Color("category:N", sort=order,
                        scale=alt.Scale(domain=order, range=[category_color(c) for c in order]),
                        # Many categories: a legend beside the plot keeps them off the title, the bars and the axis.
                        legend=alt.Legend(orient="right", labelLimit=200)),
        opacity=alt.condition(alt.datum.state == "complete", alt.value(1.0), alt.value(0.45)),
        tooltip=[alt.Tooltip("when:N", title=grain), alt.Tooltip("category:N", title="category"),
                 alt.Tooltip("failures:Q", title="failures", format=","), alt.Tooltip("state:N", title="period")],
        description="aria:N")
    return finish(chart, title=title, height=height, description=describe(title, x_title, y_title))


def build_top_movers(df: pd.DataFrame, *, title: str | None = None, height: int = 320) -> Any:
    """Horizontal bars of the relative change per error code (columns error_code, change, current, previous,
    change_pct): rises in red, falls in green, the largest move on top; each bar is labelled with its relative
    and absolute change, and a code absent before is drawn at the longest bar and labelled "new".
    A click on a bar selects its code (read back by `dashboard.links.clicked`)."""
    finite = [abs(v) for v in df["change_pct"] if pd.notna(v)]
    longest = max(finite, default=1.0) * 1.15 or 1.0
    data = pd.DataFrame({
        "error_code": df["error_code"].astype(str), "shown": [visible_text(c) for c in df["error_code"]],
        "shift": [v if pd.notna(v) else longest for v in df["change_pct"]],
        "label": [("new" if pd.isna(p) else f"{p:+.0%}") + f" ({c:+,})"
                  for p, c in zip(df["change_pct"], df["change"], strict=True)],
        "colour": [ALERT if c > 0 else OK for c in df["change"]],
        "previous": df["previous"], "current": df["current"],
    })
    data["aria"] = [f"{c}: {label}, {p:,} before, {n:,} now" for c, label, p, n in
                    zip(data["shown"], data["label"], data["previous"], data["current"], strict=True)]
    x_title = "change against the previous period (%)"
    pick = alt.selection_point(name=PICK, fields=["error_code"], on="click", clear="dblclick")
    y = alt.Y("shown:N", title=None, sort=list(data["shown"]), axis=alt.Axis(labelLimit=220, labelOverlap=False))
    # Room past the longest bars on both sides for their labels, to a round half (50%) for round ticks.
    room = math.ceil(max([abs(v) for v in data["shift"]], default=1.0) * 1.6 * 2) / 2 or 0.5
    lo = -room if (data["shift"] < 0).any() else 0.0
    hi = room if (data["shift"] > 0).any() or not len(data) else 0.0
    bars = alt.Chart(data).mark_bar(cornerRadiusEnd=2).encode(
        y=y, x=alt.X("shift:Q", title=x_title, axis=alt.Axis(format="+.0%"),
                     scale=alt.Scale(domain=[lo, hi])),
        color=alt.Color("colour:N", scale=None), opacity=alt.condition(pick, alt.value(1.0), alt.value(0.55)),
        description="aria:N",
        tooltip=[alt.Tooltip("shown:N", title="code"), alt.Tooltip("previous:Q", title="previous", format=","),
                 alt.Tooltip("current:Q", title="this period", format=","), alt.Tooltip("label:N", title="change")],
    ).add_params(pick)
    # Each bar's label sits past its end: right of a rise, left of a fall.
    rises = alt.Chart(data).transform_filter(alt.datum.shift >= 0).mark_text(
        align="left", dx=4, fontSize=11, color="#334155").encode(y=y, x=alt.X("shift:Q"), text="label:N")
    falls = alt.Chart(data).transform_filter(alt.datum.shift < 0).mark_text(
        align="right", dx=-4, fontSize=11, color="#334155").encode(y=y, x=alt.X("shift:Q"), text="label:N")
    zero = alt.Chart(pd.DataFrame({"zero": [0]})).mark_rule(color="#94A3B8").encode(x="zero:Q")
    return finish(alt.layer(bars, rises, falls, zero), title=title, height=height,
                  description=describe(title, x_title, None))
