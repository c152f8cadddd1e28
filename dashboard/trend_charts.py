"""Pure plotly builders for the Trends page (no Streamlit; unit-tested on plain frames)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import ALERT, OK, PALETTE, PRIMARY, _style, chart_text

HIT_RATE_ALERT = 0.70  # the original guide's alert: miss rate above 30%
RECOVERY_ALERT = 0.50  # the original guide's alert: recovery success below 50%


def build_rates_trend(df: pd.DataFrame, *, title: str | None = None, height: int = 380) -> go.Figure:
    """Hit rate and recovery success per period (columns period, hit_rate, recovery_success_rate),
    with the two alert lines."""
    fig = go.Figure()
    mode = "lines+markers" if len(df) < 40 else "lines"
    # The denominators ride along in the hover, so a 0% day with one failure reads as what it is.
    fig.add_trace(go.Scatter(x=df["period"], y=df["hit_rate"], name="Hit rate", mode=mode,
                             line={"color": PRIMARY, "width": 2}, customdata=df.get("failures"),
                             hovertemplate="%{y:.1%} of %{customdata:,} failures"))
    fig.add_trace(go.Scatter(x=df["period"], y=df["recovery_success_rate"], name="Recovery success", mode=mode,
                             line={"color": OK, "width": 2}, customdata=df.get("recovery_attempts"),
                             hovertemplate="%{y:.1%} of %{customdata:,} attempts"))
    for y, label in ((HIT_RATE_ALERT, "hit rate alert 70%"), (RECOVERY_ALERT, "recovery alert 50%")):
        fig.add_hline(y=y, line={"color": ALERT, "dash": "dash", "width": 1}, annotation_text=label,
                      annotation_position="bottom right", annotation_font_color=ALERT)
    return _style(fig, title=title, height=height, percent=True)


def build_category_volume(df: pd.DataFrame, *, title: str | None = None, height: int = 380) -> go.Figure:
    """Stacked failures per period and category (columns period, category, failures); largest category first."""
    fig = go.Figure()
    order = df.groupby("category")["failures"].sum().sort_values(ascending=False).index if not df.empty else []
    for i, category in enumerate(order):
        part = df[df["category"] == category]
        fig.add_trace(go.Bar(x=part["period"], y=part["failures"], name=chart_text([category])[0],
                             marker_color=PALETTE[i % len(PALETTE)]))
    fig.update_layout(barmode="stack")
    fig = _style(fig, title=title, height=height)
    # Many categories: a legend under the plot keeps it off the title and the bars.
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0})
    return fig


def build_top_movers(df: pd.DataFrame, *, title: str | None = None, height: int = 320) -> go.Figure:
    """Horizontal bars of the change per error code (columns error_code, change, current, previous):
    rises in red, falls in green, the largest move on top."""
    data = df.iloc[::-1]
    colors = [ALERT if c > 0 else OK for c in data["change"]]
    fig = go.Figure(go.Bar(
        x=data["change"], y=chart_text(data["error_code"]), orientation="h", marker_color=colors, name="change",
        customdata=data[["previous", "current"]].to_numpy() if len(data) else None,
        hovertemplate="%{y}: %{customdata[0]} → %{customdata[1]} (%{x:+d})<extra></extra>",
    ))
    fig = _style(fig, title=title, height=height)
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(automargin=True, rangemode=None)
    fig.update_xaxes(showgrid=True, gridcolor="#EEF2F7", zeroline=True, zerolinecolor="#94A3B8")
    return fig
