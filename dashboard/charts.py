"""Pure Vega-Lite (Altair) chart builders with one shared look (no Streamlit; unit-testable).

Vega-Lite draws labels as text on a canvas and its tooltips escape HTML, so client text (codes, categories)
goes into the charts as it is and is shown as written, never as markup.
"""
from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from dashboard.visible import visible_text

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
# The name of the point selection of a clickable bar chart, as Streamlit reports it back.
PICK = "pick"


def category_color(category: object) -> str:
    """The colour of a category (a code is drawn in its category's colour); red for no category (unmatched).
    A category outside the shipped catalog gets a colour from its name, the same on every chart."""
    name = str(category or "")
    if not name or name == "(unmatched)":
        return ALERT
    return CATEGORY_COLORS.get(name) or _OTHER_COLORS[zlib.crc32(name.encode()) % len(_OTHER_COLORS)]


def is_time(values: pd.Series) -> bool:
    """Whether a column holds instants (drawn on a time axis)."""
    return bool(pd.api.types.is_datetime64_any_dtype(values))


def wall_clock(values: pd.Series) -> pd.Series:
    """Instants as the wall-clock times they already carry, labelled UTC.

    The pages choose the zone (the viewer's for hours, UTC for days); the charts draw on a UTC scale, and a time
    without a zone would be read as the browser's local time, so each wall-clock time is handed over as that time
    in UTC, which neither side shifts."""
    stamps = pd.to_datetime(values)
    naive = stamps.dt.tz_localize(None) if stamps.dt.tz is not None else stamps
    return naive.dt.tz_localize("UTC")


def time_labels(values: pd.Series, *, with_time: bool = True) -> list[str]:
    """Instants as the text a tooltip shows (in the zone they carry)."""
    fmt = "%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d"
    return [v.strftime(fmt) if pd.notna(v) else "" for v in pd.to_datetime(values)]


def _has_time_of_day(values: pd.Series) -> bool:
    stamps = pd.to_datetime(values)
    return bool(len(stamps)) and bool(((stamps.dt.hour != 0) | (stamps.dt.minute != 0)).any())


def x_channel(values: pd.Series, field: str, title: str | None, *, order: Sequence[Any] | None = None,
              span: Sequence[Any] | None = None, reach: Any = None) -> alt.X:
    """The x channel of a field: a UTC-scaled time axis for instants, else categories in the frame's order.

    `span` (start, end, in the zone the values carry) is the period the chart covers: its axis runs over all of it,
    so hours without a failure at either end still show as hours, not as a shorter chart. `reach` is the latest
    instant a mark draws to (a bar's end), which the axis covers too."""
    if is_time(values):
        buckets = wall_clock(values).dropna().drop_duplicates().sort_values()
        # Few buckets (weeks, a few days): a tick at each one, so a week's tick is its Monday, not Vega's Sunday.
        ticks = [alt.DateTime(year=t.year, month=t.month, date=t.day, hours=t.hour, minutes=t.minute, utc=True)
                 for t in buckets] if 1 < len(buckets) <= 12 else alt.Undefined
        scale = alt.Scale(type="utc", domain=time_domain(buckets, span, reach)) if span is not None \
            else alt.Scale(type="utc")
        return alt.X(f"{field}:T", title=title, scale=scale, axis=alt.Axis(grid=False, labelExpr=(
            # 24-hour times, and the date at midnight (Vega's default is the browser locale's "06 PM").
            "utchours(datum.value) == 0 && utcminutes(datum.value) == 0"
            " ? utcFormat(datum.value, '%b %d') : utcFormat(datum.value, '%H:%M')"), values=ticks))
    return alt.X(f"{field}:N", title=title, sort=list(order) if order is not None else None,
                 axis=alt.Axis(labelAngle=-30, labelLimit=140))


def time_domain(buckets: pd.Series, span: Sequence[Any], reach: Any = None) -> list[alt.DateTime]:
    """A time axis's ends: the span, widened to any bucket (or mark end) outside it."""
    ends = wall_clock(pd.Series(list(span)))
    first, last = ends.iloc[0], ends.iloc[1]
    if len(buckets):
        first = min(first, buckets.min())
        last = max(last, buckets.max())
    if reach is not None and pd.notna(reach):
        last = max(last, reach)
    return [_date_time(first), _date_time(last)]


def _date_time(t: pd.Timestamp) -> alt.DateTime:
    return alt.DateTime(year=t.year, month=t.month, date=t.day, hours=t.hour, minutes=t.minute, seconds=t.second,
                        milliseconds=t.microsecond // 1000, utc=True)


def bar_spans(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Start and end of each time bar: its bucket and 85% of the way to the next, so bars fill their period with a
    gap between them whatever the bucket size (hour, 6 hours, day, week)."""
    starts = wall_clock(values)
    steps = starts.drop_duplicates().sort_values().diff().dropna()
    step = steps.min() if len(steps) else pd.Timedelta(hours=1)
    return starts, starts + step * 0.85


def finish(chart: Any, *, title: str | None, height: int, description: str | None = None) -> Any:
    """The shared look: title, height, full width, light grid, no frame; `description` is the chart's
    accessible name (axis titles included), which screen readers read instead of the drawing."""
    props: dict[str, Any] = {"height": height, "width": "container"}
    if title:
        props["title"] = alt.Title(title, anchor="start", fontSize=15, fontWeight=600, color="#1F2937")
    props["description"] = description or title or "chart"
    return (chart.properties(**props)
            .configure_view(stroke=None)
            .configure_axis(labelColor="#334155", titleColor=MUTED, titleFontSize=12, titleFontWeight="normal",
                            gridColor="#EEF2F7", domainColor="#CBD5E1", tickColor="#CBD5E1")
            .configure_legend(orient="top", title=None, labelFontSize=12, symbolType="square"))


def describe(title: str | None, x_title: str | None, y_title: str | None) -> str:
    """A chart's accessible description: its title and what each axis shows."""
    parts = [p for p in (title, f"x axis: {x_title}" if x_title else None,
                         f"y axis: {y_title}" if y_title else None) if p]
    return "; ".join(parts) or "chart"


def threshold_layers(value: float, label: str) -> list[Any]:
    """A dashed red alert line at `value` with its label at the right end, for a 0..1 rate chart."""
    frame = pd.DataFrame({"level": [value], "label": [label]})
    rule = alt.Chart(frame).mark_rule(color=ALERT, strokeDash=[6, 4], strokeWidth=1.5).encode(y="level:Q")
    text = alt.Chart(frame).mark_text(color=ALERT, align="right", baseline="top", dy=3, fontSize=11).encode(
        y="level:Q", x=alt.XValue("width"), text="label:N")
    return [rule, text]


def percent_axis(field: str, title: str | None) -> alt.Y:
    """A 0..100% y channel."""
    return alt.Y(f"{field}:Q", title=title, axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1.05]))


def build_rate_chart(df: pd.DataFrame, *, x: str, y: str, threshold: float | None = None,
                     threshold_label: str | None = None, title: str | None = None, name: str | None = None,
                     height: int = 300, x_title: str | None = None, y_title: str | None = None,
                     span: Sequence[Any] | None = None) -> Any:
    """Line of a 0..1 rate over time with an optional dashed alert threshold line; a time axis covers `span`
    (start, end) when given."""
    data = pd.DataFrame({x: wall_clock(df[x]) if is_time(df[x]) else df[x], y: df[y],
                         "when": time_labels(df[x]) if is_time(df[x]) else df[x].astype(str)})
    # A gap (no failures, so no rate) breaks the line instead of bridging it.
    line = alt.Chart(data).mark_line(color=PRIMARY, strokeWidth=2, point=len(df) < 40,
                                     invalid="break-paths-show-domains").encode(
        x=x_channel(df[x], x, x_title, span=span), y=percent_axis(y, y_title),
        tooltip=[alt.Tooltip("when:N", title=x_title or "time"),
                 alt.Tooltip(f"{y}:Q", title=name or y, format=".1%")])
    layers: list[Any] = [line]
    if threshold is not None:
        layers += threshold_layers(threshold, threshold_label or f"alert {threshold:.0%}")
    return finish(alt.layer(*layers), title=title, height=height, description=describe(title, x_title, y_title))


def _count_axis(field: str, title: str | None) -> dict[str, Any]:
    return {"field": field, "type": "quantitative", "title": title,
            "axis": {"tickMinStep": 1, "format": ",d"}}


def build_bar_chart(df: pd.DataFrame, *, x: str, y: str, title: str | None = None, horizontal: bool = False,
                    color: str | Sequence[str] = PRIMARY, height: int = 300, x_title: str | None = None,
                    y_title: str | None = None, clickable: bool = False, span: Sequence[Any] | None = None) -> Any:
    """Bars of y by x (horizontal bars list the frame's first row on top); `color` is one colour or one per row.
    A clickable chart selects a bar's `x` value on click (read back by `dashboard.links.clicked`); a time axis
    covers `span` (start, end) when given."""
    colours = [color] * len(df) if isinstance(color, str) else list(color)
    data = pd.DataFrame({x: df[x].astype(str), y: df[y], "colour": colours})
    if is_time(df[x]):
        data[x], data["end"] = bar_spans(df[x])
        data["shown"] = time_labels(df[x], with_time=_has_time_of_day(df[x]))
    else:  # drawn with invisible characters written out; a click still selects the value itself
        data["shown"] = [visible_text(v) for v in data[x]]
    key_title = (y_title if horizontal else x_title) or x.replace("_", " ")
    value_title = (x_title if horizontal else y_title) or y.replace("_", " ")
    tooltip = [alt.Tooltip("shown:N", title=key_title), alt.Tooltip(f"{y}:Q", title=value_title, format=",")]
    # What a screen reader says for each bar (instead of every encoded field, colours included).
    data["aria"] = [f"{k}: {v:,} {value_title}" for k, v in zip(data["shown"], data[y], strict=True)]
    counts = _count_axis(y, x_title if horizontal else y_title)
    if not len(data) or not data[y].max():  # nothing to count: an axis up to 1, not a lone 0
        counts["scale"] = {"domain": [0, 1]}
    chart = alt.Chart(data).mark_bar(cornerRadiusEnd=2)
    if horizontal:
        encoded = chart.encode(
            y=alt.Y("shown:N", title=y_title, sort=list(data["shown"]),
                    axis=alt.Axis(labelLimit=220, labelOverlap=False)),
            x=alt.X(**counts), color=alt.Color("colour:N", scale=None), tooltip=tooltip, description="aria:N")
    else:
        reach = data["end"].max() if is_time(df[x]) and len(data) else None
        encoded = chart.encode(x=x_channel(df[x], x, x_title, span=span, reach=reach) if is_time(df[x]) else
                               x_channel(data["shown"], "shown", x_title, order=list(data["shown"])),
                               y=alt.Y(**counts), color=alt.Color("colour:N", scale=None),
                               tooltip=tooltip, description="aria:N")
        if is_time(df[x]):
            encoded = encoded.encode(x2="end:T", y2=alt.datum(0))
    if clickable:
        pick = alt.selection_point(name=PICK, fields=[x], on="click", clear="dblclick")
        encoded = encoded.add_params(pick).encode(
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.55)))
    return finish(encoded, title=title, height=height, description=describe(title, x_title, y_title))


def build_stacked_bar(df: pd.DataFrame, *, x: str, ys: Sequence[str], labels: Sequence[str] | None = None,
                      colors: Sequence[str] | None = None, title: str | None = None,
                      horizontal: bool = False, height: int = 300, x_title: str | None = None,
                      y_title: str | None = None) -> Any:
    """Stacked bars of several count columns per x (e.g. recovery successes and failures per mode)."""
    names = list(labels) if labels else list(ys)
    hues = list(colors) if colors else [PALETTE[i % len(PALETTE)] for i in range(len(ys))]
    keys = [visible_text(v) for v in df[x]]
    long = pd.DataFrame({
        x: [k for k in keys for _ in ys],
        "series": [names[i] for _ in keys for i in range(len(ys))],
        "rank": [i for _ in keys for i in range(len(ys))],
        "value": [df[col].iloc[r] for r in range(len(df)) for col in ys],
    })
    long["aria"] = [f"{k}: {v:,} {n}" for k, v, n in zip(long[x], long["value"], long["series"], strict=True)]
    scale = alt.Scale(domain=names, range=hues)
    value = alt.X(**_count_axis("value", x_title)) if horizontal else alt.Y(**_count_axis("value", y_title))
    key = (alt.Y(f"{x}:N", title=y_title, sort=keys, axis=alt.Axis(labelLimit=220, labelOverlap=False)) if horizontal
           else alt.X(f"{x}:N", title=x_title, sort=keys))
    chart = alt.Chart(long).mark_bar().encode(
        **({"x": value, "y": key} if horizontal else {"x": key, "y": value}),
        color=alt.Color("series:N", scale=scale, sort=names, legend=alt.Legend(orient="right")),
        order=alt.Order("rank:Q"),
        tooltip=[alt.Tooltip(f"{x}:N", title=(y_title if horizontal else x_title) or x.replace("_", " ")),
                 alt.Tooltip("series:N", title="of"), alt.Tooltip("value:Q", title="count", format=",")],
        description="aria:N")
    return finish(chart, title=title, height=height, description=describe(title, x_title, y_title))
