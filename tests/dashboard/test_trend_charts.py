"""Trend chart builders are pure: plain frames in, Vega-Lite specs out (no Streamlit)."""
from __future__ import annotations

import pandas as pd

from dashboard.trend_charts import (
    HIT_RATE_ALERT,
    RECOVERY_ALERT,
    build_category_volume,
    build_rates_trend,
    build_top_movers,
)
from tests.support.charts import encoding, layer_rows, layers, rows, spec


def _rules(chart):
    return sorted(row["level"] for layer in layers(chart) if layer["mark"]["type"] == "rule"
                  for row in layer_rows(chart, layer))


def test_rates_trend_has_both_series_and_alert_lines():
    df = pd.DataFrame({"period": pd.to_datetime(["2026-11-01", "2026-11-02"], utc=True),
                       "hit_rate": [0.8, 0.6], "recovery_success_rate": [0.5, float("nan")],
                       "failures": [10, 5], "recovery_attempts": [2, 0]})
    chart = build_rates_trend(df)
    line = layers(chart)[0]
    drawn = layer_rows(chart, line)
    assert [r["series"] for r in drawn] == ["Hit rate", "Hit rate", "Recovery success", "Recovery success"]
    assert [r["rate"] for r in drawn][:2] == [0.8, 0.6]
    assert drawn[3]["rate"] is None  # no attempts: a gap, not 0%
    assert [r["of"] for r in drawn] == ["10 failures", "5 failures", "2 attempts", "0 attempts"]
    assert _rules(chart) == [RECOVERY_ALERT, HIT_RATE_ALERT]
    assert encoding(line, "y")["axis"]["format"] == ".0%"


def test_category_volume_stacks_largest_first():
    df = pd.DataFrame({"period": pd.to_datetime(["2026-11-01", "2026-11-01", "2026-11-02"], utc=True),
                       "category": ["A", "B", "B"], "failures": [1, 2, 5]})
    chart = build_category_volume(df)
    drawn = rows(chart)
    assert [(r["category"], r["base"], r["top"]) for r in drawn] == [("B", 0, 2), ("A", 2, 3), ("B", 0, 5)]
    assert encoding(spec(chart), "color")["scale"]["domain"] == ["B", "A"]
    assert rows(build_category_volume(df.iloc[0:0])) == []


def test_top_movers_colours_rises_and_falls():
    df = pd.DataFrame({"error_code": ["UP", "DOWN"], "current": [9, 1], "previous": [2, 5],
                       "change": [7, -4], "change_pct": [3.5, -0.8]})
    chart = build_top_movers(df)
    bars = layer_rows(chart, layers(chart)[0])
    assert [b["error_code"] for b in bars] == ["UP", "DOWN"]  # the largest move on top
    assert encoding(layers(chart)[0], "y")["sort"] == ["UP", "DOWN"]
    assert [b["shift"] for b in bars] == [3.5, -0.8]  # relative change
    assert [b["label"] for b in bars] == ["+350% (+7)", "-80% (-4)"]  # relative and absolute alike
    assert bars[0]["colour"] != bars[1]["colour"]
    assert "%" in encoding(layers(chart)[0], "x")["title"]


def test_a_code_absent_before_is_labelled_new():
    df = pd.DataFrame({"error_code": ["NEW", "UP"], "current": [9, 4], "previous": [0, 2],
                       "change": [9, 2], "change_pct": [float("nan"), 1.0]})
    chart = build_top_movers(df)
    bars = layer_rows(chart, layers(chart)[0])
    assert [b["label"] for b in bars] == ["new (+9)", "+100% (+2)"] and bars[0]["shift"] > bars[1]["shift"]


def test_partial_periods_are_drawn_apart():
    df = pd.DataFrame({"period": pd.to_datetime(["2026-11-01", "2026-11-02"], utc=True),
                       "hit_rate": [0.8, 0.6], "recovery_success_rate": [0.5, 0.4]})
    chart = build_rates_trend(df, partial=[False, True])
    points = layers(chart)[1]
    assert [r["partial"] for r in layer_rows(chart, points)][:2] == [False, True]
    assert encoding(points, "fill")["condition"]["test"] == "datum.partial"  # open markers
    line = layers(chart)[0]
    assert encoding(line, "y")["title"] and encoding(line, "x")["title"] == "day (UTC)"


def test_time_axes_draw_the_wall_clock_they_are_given():
    df = pd.DataFrame({"period": pd.to_datetime(["2026-11-01 00:00"]).tz_localize("Asia/Tokyo"),
                       "hit_rate": [0.8], "recovery_success_rate": [0.5]})
    chart = build_rates_trend(df)
    line = layers(chart)[0]
    assert encoding(line, "x")["scale"]["type"] == "utc"  # the browser shifts nothing
    assert str(layer_rows(chart, line)[0]["period"]).startswith("2026-11-01T00:00:00")
