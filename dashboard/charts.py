"""Pure plotly chart builders with one shared look (no Streamlit; unit-testable)."""
from __future__ import annotations

import html
import zlib
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

PRIMARY = "#2563EB"
ALERT = "#DC2626"
OK = "#059669"
MUTED = "#64748B"
# Twelve distinct hues: one per catalog category plus "unmatched", so stacked bars never repeat a colour.
PALETTE = ["#2563EB", "#F59E0B", "#10B981", "#EF4444", "#8B5CF6", "#06B6D4", "#EC4899", "#84CC16",
           "#64748B", "#F97316", "#0F766E", "#A16207", "#7C3AED", "#BE123C"]


# One colour per catalog category on every chart and page (no reds: red means "not in the catalog").
CATEGORY_COLORS = {
    "TRANSIENT_NETWORK": "#10B981", "INFRASTRUCTURE": "#2563EB", "RATE_LIMIT": "#F59E0B", "LLM": "#EC4899",
    "DATA": "#8B5CF6", "VALIDATION": "#84CC16", "TOOL": "#06B6D4", "RESOURCE": "#0F766E", "PERMISSION": "#F97316",
    "SECURITY": "#1E3A8A", "RUNTIME": "#64748B", "CHECKPOINT": "#A16207",
}
_OTHER_COLORS = ("#0EA5E9", "#A855F7", "#65A30D", "#D97706", "#0D9488", "#4F46E5", "#C026D3", "#78716C")


def category_color(category: object) -> str:
    """The colour of a category (a code is drawn in its category's colour); red for no category (unmatched).
    A category outside the shipped catalog gets a colour from its name, the same on every chart."""
    name = str(category or "")
    if not name or name == "(unmatched)":
        return ALERT
    return CATEGORY_COLORS.get(name) or _OTHER_COLORS[zlib.crc32(name.encode()) % len(_OTHER_COLORS)]


def chart_text(values: pd.Series | Sequence[object]) -> list[str]:
    """Labels as plain text for plotly, which reads `<...>` and `&...;` in labels as its own HTML subset."""
    return [html.escape(str(v), quote=False) for v in values]


def axis_titles(fig: go.Figure, x: str | None = None, y: str | None = None) -> go.Figure:
    """Name the axes (what and in which unit), e.g. x "hour (Europe/Paris)", y "failures per hour"."""
    if x:
        fig.update_xaxes(title={"text": x, "font": {"size": 12, "color": MUTED}})
    if y:
        fig.update_yaxes(title={"text": y, "font": {"size": 12, "color": MUTED}})
    return fig


def _style(fig: go.Figure, *, title: str | None, height: int, percent: bool = False) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}} if title else None,
        height=height,
        margin={"l": 8, "r": 8, "t": 40 if title else 8, "b": 8},
        plot_bgcolor="white",
        paper_bgcolor="white",
        font={"family": "sans-serif", "size": 12, "color": "#1F2937"},
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1, "title": None},
        colorway=PALETTE,
    )
    fig.update_xaxes(showgrid=False, linecolor="#CBD5E1", title=None)
    fig.update_yaxes(gridcolor="#EEF2F7", zeroline=False, title=None, rangemode="tozero")
    if percent:
        fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    return fig


def build_rate_chart(df: pd.DataFrame, *, x: str, y: str, threshold: float | None = None,
                     threshold_label: str | None = None, title: str | None = None, name: str | None = None,
                     height: int = 300) -> go.Figure:
    """Line of a 0..1 rate over time with an optional dashed alert threshold line."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=df[x], y=df[y], mode="lines+markers" if len(df) < 40 else "lines",
                             name=name or y, line={"color": PRIMARY, "width": 2},
                             hovertemplate="%{y:.1%}<extra>" + (name or y) + "</extra>", connectgaps=False))
    if threshold is not None:
        fig.add_hline(y=threshold, line={"color": ALERT, "dash": "dash", "width": 1.5},
                      annotation_text=threshold_label or f"alert {threshold:.0%}",
                      annotation_position="bottom right", annotation_font_color=ALERT)
    return _style(fig, title=title, height=height, percent=True)


def build_bar_chart(df: pd.DataFrame, *, x: str, y: str, title: str | None = None, horizontal: bool = False,
                    color: str | Sequence[str] = PRIMARY, height: int = 300, hover: Sequence[str] = ()) -> go.Figure:
    """Bars of y by x (horizontal bars list the largest first); `color` is one colour or one per row."""
    if horizontal:
        data = df.iloc[::-1]
        if not isinstance(color, str):
            color = list(color)[::-1]
        fig = go.Figure(go.Bar(x=data[y], y=chart_text(data[x]), orientation="h", marker_color=color,
                               customdata=data[list(hover)] if hover else None, name=y))
        fig = _style(fig, title=title, height=height)
        fig.update_layout(hovermode="y unified")
        fig.update_yaxes(automargin=True, rangemode=None)
        fig.update_xaxes(showgrid=True, gridcolor="#EEF2F7")
        return fig
    xs = df[x] if pd.api.types.is_datetime64_any_dtype(df[x]) else chart_text(df[x])
    fig = go.Figure(go.Bar(x=xs, y=df[y], marker_color=color, name=y))
    return _style(fig, title=title, height=height)


def build_stacked_bar(df: pd.DataFrame, *, x: str, ys: Sequence[str], labels: Sequence[str] | None = None,
                      colors: Sequence[str] | None = None, title: str | None = None,
                      horizontal: bool = False, height: int = 300) -> go.Figure:
    """Stacked bars of several count columns per x (e.g. recovery successes and failures per mode)."""
    fig = go.Figure()
    for i, col in enumerate(ys):
        label = labels[i] if labels else col
        color = colors[i] if colors else PALETTE[i % len(PALETTE)]
        if horizontal:
            data = df.iloc[::-1]
            fig.add_trace(go.Bar(x=data[col], y=chart_text(data[x]), orientation="h", name=label,
                                 marker_color=color))
        else:
            xs = df[x] if pd.api.types.is_datetime64_any_dtype(df[x]) else chart_text(df[x])
            fig.add_trace(go.Bar(x=xs, y=df[col], name=label, marker_color=color))
    fig.update_layout(barmode="stack")
    fig = _style(fig, title=title, height=height)
    if horizontal:
        fig.update_layout(hovermode="y unified")
        fig.update_yaxes(automargin=True, rangemode=None)
    return fig


def build_line_chart(df: pd.DataFrame, *, x: str, y: str, color: str | None = None, title: str | None = None,
                     height: int = 300, area: bool = False) -> go.Figure:
    """Lines (or stacked areas) of y over x, one per value of `color`."""
    fig = go.Figure()
    groups = [(None, df)] if color is None else list(df.groupby(color, sort=True))
    for i, (name, part) in enumerate(groups):
        fig.add_trace(go.Scatter(
            x=part[x], y=part[y], name=chart_text([name])[0] if name is not None else y, mode="lines",
            line={"color": PALETTE[i % len(PALETTE)], "width": 2},
            stackgroup="one" if area else None,
        ))
    return _style(fig, title=title, height=height)
