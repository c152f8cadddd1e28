"""Trends from rollups equal the same figures computed from the raw failure rows."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from core.schema import failure_matches as fm
from core.types import utcnow
from queries.reports.trends import (
    MIN_MOVER_VOLUME,
    get_category_volume,
    get_new_codes,
    get_period_totals,
    get_rate_trend,
    get_top_movers,
    period_start,
    previous_period,
)
from tests.support.ops_seed import SECRET_CODE, seed


def _rows(conn, tenant, start, end):
    q = select(fm).where(fm.c.created_at >= start, fm.c.created_at < end)
    if tenant:
        q = q.where(fm.c.tenant_id == tenant)
    return conn.execute(q).mappings().all()


@pytest.mark.parametrize("grain", ["day", "week"])
@pytest.mark.parametrize("tenant", [None, "t1"])
def test_rate_trend_equals_raw_rows(engine, grain, tenant):
    s = seed(engine)
    with engine.connect() as conn:
        df = get_rate_trend(conn, tenant_id=tenant, start=s.start, end=s.end, grain=grain)
        rows = _rows(conn, tenant, s.start, s.end)
    # Rollups are hourly; the raw rows are bucketed by hour the same way before the period floor.
    raw = pd.DataFrame([dict(r) for r in rows])
    raw["period"] = period_start(raw["created_at"].map(lambda t: t.replace(minute=0, second=0, microsecond=0)), grain)
    raw["matched"] = raw["catalog_entry_id"].notna()
    want = raw.groupby("period").agg(
        failures=("id", "count"), matched=("matched", "sum"),
        attempts=("recovery_attempted", "sum"), successes=("recovery_succeeded", lambda x: int((x == True).sum())),  # noqa: E712
    )
    assert list(df["period"]) == list(want.index)
    assert list(df["failures"]) == list(want["failures"])
    assert list(df["matched"]) == list(want["matched"])
    assert list(df["recovery_attempts"]) == list(want["attempts"])
    assert list(df["recovery_successes"]) == list(want["successes"])
    assert df["hit_rate"].dtype == "float64"
    assert df["hit_rate"].tolist() == pytest.approx((want["matched"] / want["failures"]).tolist())
    if grain == "week":
        assert (df["period"].dt.day_of_week == 0).all()


def test_period_totals_and_category_volume(engine):
    s = seed(engine)
    with engine.connect() as conn:
        totals = get_period_totals(conn, tenant_id="t1", start=s.start, end=s.end)
        vol = get_category_volume(conn, tenant_id="t1", start=s.start, end=s.end, grain="week")
        rows = _rows(conn, "t1", s.start, s.end)
    assert totals["failures"] == len(rows)
    assert totals["matched"] == sum(r["catalog_entry_id"] is not None for r in rows)
    assert totals["hit_rate"] == pytest.approx(totals["matched"] / len(rows))
    assert totals["recovery_successes"] == 2 and totals["recovery_attempts"] == 3
    by_cat = vol.groupby("category")["failures"].sum().to_dict()
    want = Counter((r["category"] or "(unmatched)") for r in rows)
    assert by_cat == dict(want)


def test_top_movers_against_previous_period(engine):
    s = seed(engine)
    with engine.connect() as conn:
        movers = get_top_movers(conn, tenant_id="t1", start=s.start, end=s.end)
        ps, pe = previous_period(s.start, s.end)
        cur = Counter(r["error_code"] for r in _rows(conn, "t1", s.start, s.end))
        prev = Counter(r["error_code"] for r in _rows(conn, "t1", ps, pe))
    got = {r.error_code: (r.current, r.previous, r.change) for r in movers.itertuples()}
    for code in set(cur) | set(prev):
        if cur[code] != prev[code] and max(cur[code], prev[code]) >= MIN_MOVER_VOLUME:
            assert got[code] == (cur[code], prev[code], cur[code] - prev[code])
    assert all(max(c, p) >= MIN_MOVER_VOLUME for c, p, _ in got.values())
    # Ranked by the change relative to what it was (a code absent before first), not by its size.
    relative = [abs(c / p) if p else float("inf") for _, p, c in (got[code] for code in movers["error_code"])]
    assert relative == sorted(relative, reverse=True)
    assert SECRET_CODE not in got


def test_a_big_relative_move_ranks_above_a_big_absolute_one(engine):
    from tests.support.failures import event, ingest

    now = utcnow()
    start, end = now - timedelta(days=1), now + timedelta(minutes=1)
    before = [event("m", code="STEADY", minutes_ago=60 * 30 + i) for i in range(100)]
    before += [event("m", code="DOUBLED", minutes_ago=60 * 30 + i) for i in range(16)]
    during = [event("m", code="STEADY", minutes_ago=10 + i) for i in range(104)]  # +4%
    during += [event("m", code="DOUBLED", minutes_ago=10 + i) for i in range(33)]  # +106%
    during += [event("m", code="TINY", minutes_ago=5)]  # too few to be a mover
    ingest(engine, before + during)
    with engine.connect() as conn:
        movers = get_top_movers(conn, tenant_id="m", start=start, end=end)
    assert list(movers["error_code"]) == ["DOUBLED", "STEADY"]


def test_new_codes_are_first_seen_in_period(engine):
    s = seed(engine)
    with engine.connect() as conn:
        new = get_new_codes(conn, tenant_id="t1", start=s.start, end=s.end)
        everything = get_new_codes(conn, tenant_id=None, start=s.start, end=s.end)
        before = {r["error_code"] for r in _rows(conn, "t1", s.start - timedelta(days=365), s.start)}
        cur = {r["error_code"] for r in _rows(conn, "t1", s.start, s.end)}
    assert set(new["error_code"]) == cur - before
    assert "ZEBRA_NEW" in set(new["error_code"]) and "NET_TIMEOUT" not in set(new["error_code"])
    assert SECRET_CODE not in set(new["error_code"]) and SECRET_CODE in set(everything["error_code"])


def test_empty_windows_and_bad_input(engine):
    s = seed(engine)
    far = s.start - timedelta(days=400)
    with engine.connect() as conn:
        assert get_rate_trend(conn, tenant_id="t1", start=far, end=far + timedelta(days=1)).empty
        assert get_category_volume(conn, tenant_id="t1", start=far, end=far + timedelta(days=1)).empty
        assert get_top_movers(conn, tenant_id="zz", start=s.start, end=s.end).empty
        assert get_new_codes(conn, tenant_id="zz", start=s.start, end=s.end).empty
        t = get_period_totals(conn, tenant_id="zz", start=s.start, end=s.end)
        assert t["failures"] == 0 and t["hit_rate"] != t["hit_rate"]  # NaN
        with pytest.raises(ValueError):
            get_rate_trend(conn, tenant_id=None, start=s.end, end=s.start)
        with pytest.raises(ValueError):
            get_rate_trend(conn, tenant_id=None, start=s.start, end=s.end, grain="month")


def test_windows_widen_to_whole_hours(engine):
    s = seed(engine)
    mid_start = s.start.replace(minute=40)
    mid_end = s.end - timedelta(minutes=20)
    with engine.connect() as conn:
        a = get_period_totals(conn, tenant_id=None, start=mid_start, end=mid_end)
        b = get_period_totals(conn, tenant_id=None, start=mid_start.replace(minute=0),
                              end=mid_end.replace(minute=0) + timedelta(hours=1))
    assert a == b
