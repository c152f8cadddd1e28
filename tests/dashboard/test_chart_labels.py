"""Chart labels built from client text reach Vega-Lite as plain data: kept as written (Vega draws them as SVG text
and its tooltips escape HTML), never escaped twice and never turned into markup or links."""
from __future__ import annotations

import pandas as pd

from dashboard.charts import build_bar_chart, build_stacked_bar
from dashboard.trend_charts import build_category_volume, build_top_movers
from tests.support.charts import rows, spec

MARKUP = '<a href="http://attacker.invalid/x">P</a> & <b>'


def _labels(chart, field):
    return {row[field] for row in rows(chart) if field in row}


def test_every_builder_keeps_client_labels_as_written():
    df = pd.DataFrame({"error_code": [MARKUP], "failures": [4], "ok": [1], "bad": [3]})
    assert _labels(build_bar_chart(df, x="error_code", y="failures", horizontal=True), "error_code") == {MARKUP}
    assert _labels(build_bar_chart(df, x="error_code", y="failures"), "error_code") == {MARKUP}
    assert _labels(build_stacked_bar(df, x="error_code", ys=["ok", "bad"], horizontal=True), "error_code") == {MARKUP}
    movers = pd.DataFrame({"error_code": [MARKUP], "current": [5], "previous": [1], "change": [4],
                           "change_pct": [4.0]})
    assert _labels(build_top_movers(movers), "error_code") == {MARKUP}
    volume = pd.DataFrame({"period": pd.to_datetime(["2026-11-01"], utc=True), "category": [MARKUP],
                           "failures": [2]})
    assert _labels(build_category_volume(volume), "category") == {MARKUP}


def test_no_chart_links_or_formats_client_text():
    df = pd.DataFrame({"error_code": [MARKUP], "failures": [4]})
    body = str(spec(build_bar_chart(df, x="error_code", y="failures", horizontal=True, clickable=True)))
    assert "'href'" not in body and "'url'" not in body  # no href channel, no external data
    assert "usermeta" not in body and "embedOptions" not in body  # nothing that changes how text renders
