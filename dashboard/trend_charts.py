"""Pure plotly builders for the Trends page (no Streamlit; unit-tested on plain frames)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import ALERT, OK, PRIMARY, _style, category_color, chart_text

HIT_RATE_ALERT = 0.70  # the original guide's alert: miss rate above 30%
RECOVERY_ALERT = 0.50  # the original guide's alert: recovery success below 50%


def build_rates_trend(df: pd.DataFrame, *, title: str | None = None, height: int = 380,
                      partial: Sequence[bool] | None = None, grain: str = "day") -> go.Figure:
    """Hit rate and recovery success per period (columns period, hit_rate, recovery_success_rate), with the two
    alert lines; periods not complete yet (or cut by the range) are drawn as open markers and said so on hover."""
    fig = go.Figure()
    mode = "lines+markers" if len(df) < 40 else "lines"
    flags = list(partial) if partial is not None else [False] * len(df)
    note = [" (partial " + grain + ")" if p else "" for p in flags]
    symbols = ["circle-open" if p else "circle" for p in flags]
    # The denominators ride along in the hover, so a 0% day with one failure reads as what it is.
    failures = df["failures"] if "failures" in df else pd.Series([0] * len(df))
    attempts = df["recovery_attempts"] if "recovery_attempts" in df else pd.Series([0] * len(df))
    fig.add_trace(go.Scatter(x=df["period"], y=df["hit_rate"], name="Hit rate", mode=mode,
                             line={"color": PRIMARY, "width": 2}, marker={"symbol": symbols, "size": 7},
                             customdata=list(zip(failures, note, strict=True)),
                             hovertemplate="%{y:.1%} of %{customdata[0]:,} failures%{customdata[1]}"))
    fig.add_trace(go.Scatter(x=df["period"], y=df["recovery_success_rate"], name="Recovery success", mode=mode,
                             line={"color": OK, "width": 2}, marker={"symbol": symbols, "size": 7},
                             customdata=list(zip(attempts, note, strict=True)),
                             hovertemplate="%{y:.1%} of %{customdata[0]:,} attempts%{customdata[1]}"))
    for y, label in ((HIT_RATE_ALERT, "hit rate alert 70%"), (RECOVERY_ALERT, "recovery alert 50%")):
        fig.add_hline(y=y, line={"color": ALERT, "dash": "dash", "width": 1}, annotation_text=label,
                      annotation_position="bottom right", annotation_font_color=ALERT)
    fig = _style(fig, title=title, height=height, percent=True)
    fig.update_yaxes(title={"text": "share (%)"})
    fig.update_xaxes(title={"text": f"{grain} (UTC)"})
    return fig


def build_category_volume(df: pd.DataFrame, *, title: str | None = None, height: int = 380,
                          partial_periods: Sequence[Any] = (), grain: str = "day") -> go.Figure:
    """Stacked failures per period and category (columns period, category, failures); largest category first.
    Periods not complete yet (or cut by the range) are drawn lighter and named on hover."""
    fig = go.Figure()
    order = df.groupby("category")["failures"].sum().sort_values(ascending=False).index if not df.empty else []
    cut = set(partial_periods)
    for category in order:
        part = df[df["category"] == category]
        partial = [p in cut for p in part["period"]]
        fig.add_trace(go.Bar(x=part["period"], y=part["failures"], name=chart_text([category])[0],
                             marker_color=category_color(category),
                             marker_opacity=[0.45 if p else 1.0 for p in partial],
                             customdata=[f" (partial {grain})" if p else "" for p in partial],
                             hovertemplate="%{y:,} failures%{customdata}"))
    fig.update_layout(barmode="stack")
    fig = _style(fig, title=title, height=height)
    # Many categories: a legend beside the plot keeps them off the title, the bars and the axis title.
    fig.update_layout(legend={"orientation": "v", "yanchor": "top", "y": 1, "xanchor": "left", "x": 1.02,
                              "font": {"size": 11}})
    fig.update_yaxes(title={"text": f"failures per {grain}"})
    fig.update_xaxes(title={"text": f"{grain} (UTC)"})
    return fig


def build_top_movers(df: pd.DataFrame, *, title: str | None = None, height: int = 320) -> go.Figure:
    """Horizontal bars of the relative change per error code (columns error_code, change, current, previous,
    change_pct): rises in red, falls in green, the largest move on top; each bar is labelled with its relative
    and absolute change, and a code absent before is drawn at the longest bar and labelled "new"."""
    data = df.iloc[::-1]
    finite = [abs(v) for v in data["change_pct"] if pd.notna(v)]
    longest = max(finite, default=1.0) * 1.15 or 1.0
    x = [v if pd.notna(v) else longest for v in data["change_pct"]]
    labels = [("new" if pd.isna(p) else f"{p:+.0%}") + f" ({c:+,})" for p, c in zip(data["change_pct"],
                                                                                   data["change"], strict=True)]
    colors = [ALERT if c > 0 else OK for c in data["change"]]
    fig = go.Figure(go.Bar(
        x=x, y=chart_text(data["error_code"]), orientation="h", marker_color=colors, name="change",
        text=labels, textposition="auto",
        customdata=data[["previous", "current"]].to_numpy() if len(data) else None,
        hovertemplate="%{y}: %{customdata[0]} → %{customdata[1]} (%{text})<extra></extra>",
    ))
    fig = _style(fig, title=title, height=height)
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(automargin=True, rangemode=None)
    fig.update_xaxes(showgrid=True, gridcolor="#EEF2F7", zeroline=True, zerolinecolor="#94A3B8", tickformat="+.0%",
                     title={"text": "change against the previous period (%)"})
    return fig
