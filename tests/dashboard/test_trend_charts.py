"""Trend chart builders are pure: plain frames in, plotly figures out (no Streamlit)."""
from __future__ import annotations

import pandas as pd

from dashboard.trend_charts import (
    HIT_RATE_ALERT,
    RECOVERY_ALERT,
    build_category_volume,
    build_rates_trend,
    build_top_movers,
)


def test_rates_trend_has_both_series_and_alert_lines():
    df = pd.DataFrame({"period": pd.to_datetime(["2026-11-01", "2026-11-02"], utc=True),
                       "hit_rate": [0.8, 0.6], "recovery_success_rate": [0.5, float("nan")]})
    fig = build_rates_trend(df)
    assert [t.name for t in fig.data] == ["Hit rate", "Recovery success"]
    assert list(fig.data[0].y) == [0.8, 0.6]
    assert sorted(s.y0 for s in fig.layout.shapes) == [RECOVERY_ALERT, HIT_RATE_ALERT]


def test_category_volume_stacks_largest_first():
    df = pd.DataFrame({"period": pd.to_datetime(["2026-11-01", "2026-11-01", "2026-11-02"], utc=True),
                       "category": ["A", "B", "B"], "failures": [1, 2, 5]})
    fig = build_category_volume(df)
    assert fig.layout.barmode == "stack"
    assert [t.name for t in fig.data] == ["B", "A"] and list(fig.data[0].y) == [2, 5]
    assert build_category_volume(df.iloc[0:0]).data == ()


def test_top_movers_colours_rises_and_falls():
    df = pd.DataFrame({"error_code": ["UP", "DOWN"], "current": [9, 1], "previous": [2, 5],
                       "change": [7, -4], "change_pct": [3.5, -0.8]})
    fig = build_top_movers(df)
    bar = fig.data[0]
    assert list(bar.y) == ["DOWN", "UP"] and list(bar.x) == [-0.8, 3.5]  # relative change
    assert list(bar.text) == ["-80% (-4)", "+350% (+7)"]  # relative and absolute alike
    assert bar.marker.color[0] != bar.marker.color[1]
    assert "%" in fig.layout.xaxis.title.text


def test_a_code_absent_before_is_labelled_new():
    df = pd.DataFrame({"error_code": ["NEW", "UP"], "current": [9, 4], "previous": [0, 2],
                       "change": [9, 2], "change_pct": [float("nan"), 1.0]})
    bar = build_top_movers(df).data[0]
    assert list(bar.text) == ["+100% (+2)", "new (+9)"] and bar.x[1] > bar.x[0]


def test_partial_periods_are_drawn_apart():
    df = pd.DataFrame({"period": pd.to_datetime(["2026-11-01", "2026-11-02"], utc=True),
                       "hit_rate": [0.8, 0.6], "recovery_success_rate": [0.5, 0.4]})
    fig = build_rates_trend(df, partial=[False, True])
    assert list(fig.data[0].marker.symbol) == ["circle", "circle-open"]
    assert fig.layout.yaxis.title.text and fig.layout.xaxis.title.text
