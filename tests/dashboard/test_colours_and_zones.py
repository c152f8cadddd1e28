"""One colour per category on every chart, and times named in the viewer's zone."""
from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from dashboard import charts, viewer_time
from dashboard.trend_charts import build_category_volume
from loaders.catalog.file import read_catalog_file
from tests.support.charts import encoding, spec


def test_every_shipped_category_has_its_own_colour_and_none_is_red():
    categories = {e.category for e in read_catalog_file()[1]}
    colours = {c: charts.category_color(c) for c in categories}
    assert len(set(colours.values())) == len(categories)
    assert charts.ALERT not in colours.values()
    assert charts.category_color(None) == charts.category_color("(unmatched)") == charts.ALERT


def test_a_category_outside_the_catalog_keeps_one_colour():
    assert charts.category_color("CUSTOM_TEAM") == charts.category_color("CUSTOM_TEAM") != charts.ALERT


def test_trends_draws_a_category_in_its_colour_whatever_else_is_on_the_chart():
    frame = pd.DataFrame({"period": [datetime(2026, 12, 1, tzinfo=UTC)] * 2, "category": ["LLM", "DATA"],
                          "failures": [5, 9]})
    alone = build_category_volume(frame[frame["category"] == "LLM"])
    together = build_category_volume(frame)

    def colours(chart):
        scale = encoding(spec(chart), "color")["scale"]
        return dict(zip(scale["domain"], scale["range"], strict=True))

    assert colours(alone)["LLM"] == colours(together)["LLM"] == charts.category_color("LLM")
    assert encoding(spec(together), "y")["title"] == "failures per day"


@pytest.mark.parametrize(("reported", "expected"), [("Asia/Tokyo", "Asia/Tokyo"), (None, "UTC"),
                                                    ("Not/AZone", "UTC"), ("../../etc/passwd", "UTC")])
def test_the_zone_is_the_browsers_when_it_is_a_real_one(monkeypatch, reported, expected):
    monkeypatch.setattr(viewer_time.st, "context", type("Ctx", (), {"timezone": reported})())
    assert viewer_time.zone_name() == expected
    column = viewer_time.time_column("When")
    assert column["label"] == f"When ({expected})" and column["type_config"]["timezone"] == expected


def test_text_and_axes_are_converted_to_the_zone(monkeypatch):
    monkeypatch.setattr(viewer_time.st, "context", type("Ctx", (), {"timezone": "Asia/Tokyo"})())
    noon = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert viewer_time.local_text(noon) == "2026-12-05 21:00 JST"
    assert viewer_time.local_series(pd.Series([noon])).iloc[0].hour == 21
