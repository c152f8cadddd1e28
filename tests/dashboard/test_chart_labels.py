"""Chart labels built from client text reach plotly escaped, so its HTML subset never applies to them."""
from __future__ import annotations

import pandas as pd

from dashboard.charts import build_bar_chart, build_line_chart, build_stacked_bar, chart_text
from dashboard.trend_charts import build_category_volume, build_top_movers

MARKUP = '<a href="http://attacker.invalid/x">P</a> & <b>'
SHOWN = '&lt;a href="http://attacker.invalid/x"&gt;P&lt;/a&gt; &amp; &lt;b&gt;'


def test_chart_text_escapes_markup_and_entities():
    assert chart_text([MARKUP, 3, "&lt;"]) == [SHOWN, "3", "&amp;lt;"]


def test_every_builder_escapes_its_category_labels():
    df = pd.DataFrame({"error_code": [MARKUP], "failures": [4], "ok": [1], "bad": [3]})
    assert list(build_bar_chart(df, x="error_code", y="failures", horizontal=True).data[0].y) == [SHOWN]
    assert list(build_bar_chart(df, x="error_code", y="failures").data[0].x) == [SHOWN]
    assert list(build_stacked_bar(df, x="error_code", ys=["ok", "bad"], horizontal=True).data[0].y) == [SHOWN]
    assert list(build_stacked_bar(df, x="error_code", ys=["ok", "bad"]).data[1].x) == [SHOWN]
    movers = pd.DataFrame({"error_code": [MARKUP], "current": [5], "previous": [1], "change": [4],
                           "change_pct": [4.0]})
    assert list(build_top_movers(movers).data[0].y) == [SHOWN]
    volume = pd.DataFrame({"period": pd.to_datetime(["2026-11-01"], utc=True), "category": [MARKUP],
                           "failures": [2]})
    assert build_category_volume(volume).data[0].name == SHOWN
    lines = pd.DataFrame({"t": [1, 2], "n": [1, 2], "who": [MARKUP, MARKUP]})
    assert build_line_chart(lines, x="t", y="n", color="who").data[0].name == SHOWN
