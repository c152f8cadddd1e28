"""Trends page on seeded data: tiles and tables equal independent counts of the raw rows; tenant scope."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from core.schema import failure_matches as fm
from dashboard.ui import fmt_int, fmt_pct
from tests.support.apptest import app_for, shown_text, signed_in
from tests.support.ops_seed import (
    SECRET_CODE,
    app_navigation_mode,  # noqa: F401  (autouse)
    seed,
)

PAGE = "pages/trends.py"


def _window_rows(engine, tenant, days):
    # The page's presets are whole UTC days ending with today (dashboard.widgets.time_range(whole_days=True)).
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    start = end - timedelta(days=days)
    q = select(fm).where(fm.c.created_at >= start, fm.c.created_at < end)
    if tenant:
        q = q.where(fm.c.tenant_id == tenant)
    with engine.connect() as conn:
        return conn.execute(q).mappings().all()


def test_tiles_and_tables_equal_raw_counts(engine):
    seed(engine)
    rows = _window_rows(engine, None, 7)
    matched = sum(r["catalog_entry_id"] is not None for r in rows)
    attempts = sum(r["recovery_attempted"] for r in rows)
    successes = sum(r["recovery_succeeded"] is True for r in rows)
    at = app_for(PAGE, signed_in(engine, "pia", "viewer"), {"range": "7d"}).run()
    assert not at.exception, at.exception
    tiles = {m.label: m for m in at.metric}
    assert tiles["Failures"].value == fmt_int(len(rows))
    assert tiles["Hit rate"].value == fmt_pct(matched / len(rows))
    assert tiles["Recovery success"].value == fmt_pct(successes / attempts)
    new = at.dataframe[1].value
    assert "ZEBRA_NEW" in set(new["error_code"]) and SECRET_CODE in set(new["error_code"])
    assert "NET_TIMEOUT" not in set(new["error_code"])
    assert tiles["New codes"].value == fmt_int(len(new))
    movers = at.dataframe[0].value.set_index("error_code")
    # NET_CONNECTION_REFUSED: 2 in the last 7 days in t1, 5 in the 7 days before.
    assert movers.loc["NET_CONNECTION_REFUSED", "current"] == sum(
        r["error_code"] == "NET_CONNECTION_REFUSED" for r in rows)
    assert len(at.get("vega_lite_chart")) == 3
    assert "UTC days" in shown_text(at)


def test_weekly_grain_from_link_and_bad_grain_warns(engine):
    seed(engine)
    at = app_for(PAGE, signed_in(engine, "pia", "viewer"), {"grain": "week"}).run()
    assert not at.exception and at.radio(key="trends_grain").value == "week"
    at = app_for(PAGE, signed_in(engine, "pia2", "viewer"), {"grain": "hourly"}).run()
    assert not at.exception and at.radio(key="trends_grain").value == "day"
    assert any("grain=hourly" in w.value for w in at.warning)


def test_scoped_user_sees_only_its_tenant(engine):
    seed(engine)
    rows = _window_rows(engine, "t1", 7)
    at = app_for(PAGE, signed_in(engine, "tom", "viewer", "t1"), {"range": "7d", "tenant": "t2"}).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Failures"] == fmt_int(len(rows))
    text = shown_text(at)
    assert SECRET_CODE not in text and "t2" not in text
    charts = [chart.proto.SerializeToString() for chart in at.get("vega_lite_chart")]
    assert charts and any(b"Hit rate" in chart for chart in charts)  # spec and rows are both in these bytes
    assert not any(SECRET_CODE.encode() in chart for chart in charts)


def test_empty_and_database_down(engine, monkeypatch):
    at = app_for(PAGE, signed_in(engine, "pia", "viewer")).run()
    assert not at.exception
    assert any("No failures recorded" in i.value for i in at.info)

    def down(*_a, **_k):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr("queries.reports.trends.get_period_totals", down)
    st.cache_data.clear()
    at = app_for(PAGE, signed_in(engine, "pia2", "viewer")).run()
    assert not at.exception
    assert any("database is not reachable" in e.value for e in at.error)


def test_mover_links_open_explore_on_the_same_tenant_and_range(engine):
    seed(engine)
    at = app_for(PAGE, signed_in(engine, "pia", "viewer"), {"range": "7d", "tenant": "t1"}).run()
    assert not at.exception, at.exception
    movers = at.dataframe[0].value
    assert len(movers) and all("tenant=t1" in link and "range=7d" in link for link in movers["link"]), movers["link"]
    assert all(link.startswith("explore?") and "code=" in link for link in movers["link"])
