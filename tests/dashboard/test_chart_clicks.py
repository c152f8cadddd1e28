"""A click on a chart's bar opens Explore filtered to that bar's code, when Explore can express the code; codes
that its URL cannot hold (a comma would split one into two) are said so instead of opening a wrong list."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard.charts import PICK, build_bar_chart
from dashboard.links import clicked, explorable
from dashboard.trend_charts import build_top_movers
from tests.support.charts import encoding, layer_rows, layers, rows, spec

SPOOF = "\u202eEDOC_LIVE\u202c_OK"


def _event(*points):
    return SimpleNamespace(selection={PICK: list(points)})


def test_only_codes_explore_can_hold_are_explorable():
    assert explorable("NET_TIMEOUT") and explorable("grpc:UNAVAILABLE/x.y-z")
    assert not explorable("NET_TIMEOUT,INFRA_HTTP_5XX")  # Explore would read two codes
    assert not explorable("A B") and not explorable("<a>") and not explorable(SPOOF) and not explorable("")


def test_a_click_names_a_code_on_the_chart_and_nothing_else():
    codes = ["NET_TIMEOUT", "A,B"]
    assert clicked(_event({"error_code": "A,B"}), "error_code", codes) == "A,B"
    assert clicked(_event({"error_code": "OTHER"}), "error_code", codes) is None  # not on the chart
    assert clicked(_event({"error_code": 3}), "error_code", codes) is None
    assert clicked(SimpleNamespace(selection={}), "error_code", codes) is None


def test_charts_write_out_invisible_characters_but_select_the_code_itself():
    frame = pd.DataFrame({"error_code": [SPOOF], "failures": [3]})
    bar = build_bar_chart(frame, x="error_code", y="failures", horizontal=True, clickable=True)
    row = rows(bar)[0]
    assert row["shown"] == "\\u202eEDOC_LIVE\\u202c_OK" and row["error_code"] == SPOOF
    assert encoding(spec(bar), "y")["field"] == "shown" and spec(bar)["params"][0]["select"]["fields"] == [
        "error_code"]
    movers = build_top_movers(pd.DataFrame({"error_code": [SPOOF], "current": [5], "previous": [1], "change": [4],
                                            "change_pct": [4.0]}))
    first = layer_rows(movers, layers(movers)[0])[0]
    assert first["shown"].startswith("\\u202e") and first["error_code"] == SPOOF


def test_a_click_on_a_code_explore_cannot_hold_says_so_and_stays():
    def page() -> None:
        from types import SimpleNamespace

        from dashboard.charts import PICK
        from dashboard.links import open_explore_on_click

        event = SimpleNamespace(selection={PICK: [{"error_code": "NET_TIMEOUT,INFRA_HTTP_5XX"}]})
        open_explore_on_click(event, "error_code", ["NET_TIMEOUT,INFRA_HTTP_5XX"], filter_name="code", tenant=None)

    at = AppTest.from_function(page).run()
    assert not at.exception
    assert len(at.warning) == 1 and "NET_TIMEOUT,INFRA_HTTP_5XX" in at.warning[0].value


def test_weekly_ticks_fall_on_the_buckets_and_an_empty_count_axis_reaches_one():
    weeks = pd.DataFrame({"bucket": pd.date_range("2026-11-02", periods=4, freq="7D", tz="UTC"), "n": [1, 2, 3, 4]})
    axis = encoding(spec(build_bar_chart(weeks, x="bucket", y="n")), "x")["axis"]
    days = [pd.Timestamp(year=v["year"], month=v["month"], day=v["date"]) for v in axis["values"]]
    assert [d.day_name() for d in days] == ["Monday"] * 4 and all(v["utc"] for v in axis["values"])
    empty = build_bar_chart(weeks.assign(n=0), x="bucket", y="n")
    assert encoding(spec(empty), "y")["scale"]["domain"] == [0, 1]
