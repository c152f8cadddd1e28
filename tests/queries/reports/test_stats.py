"""queries.reports.stats: rollups for whole hours plus raw edges give exactly the raw-row answer."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from queries.failures.filters import FilterError
from queries.failures.recovery import mark_recovery
from queries.reports.stats import get_stats, split_range
from tests.support.failures import add_critical_entry, all_rows, hours_ago, ingest, mixed_events


def _expected(rows, tenant, start, end):
    sel = [r for r in rows if start <= r["created_at"] < end and (tenant is None or r["tenant_id"] == tenant)]
    matched = sum(1 for r in sel if r["catalog_entry_id"] is not None)
    attempts = sum(1 for r in sel if r["recovery_attempted"])
    successes = sum(1 for r in sel if r["recovery_succeeded"] is True)
    codes = Counter(r["error_code"] for r in sel)
    return {
        "total_failures": len(sel), "matched_failures": matched, "unmatched_failures": len(sel) - matched,
        "hit_rate": matched / len(sel) if sel else 0.0, "recovery_attempts": attempts,
        "recovery_successes": successes, "recovery_success_rate": successes / attempts if attempts else 0.0,
        "codes": {k: v for k, v in codes.items()},
        "severity": Counter(r["severity"] or "unknown" for r in sel),
        "modes": Counter(r["recovery_mode"] or "NONE" for r in sel),
    }


def test_split_range():
    t = datetime(2026, 1, 1, 10, 20, tzinfo=UTC)
    whole, edges = split_range(t, t + timedelta(hours=3))
    assert whole == (t.replace(minute=0) + timedelta(hours=1), t.replace(minute=0) + timedelta(hours=3))
    assert edges == [(t, whole[0]), (whole[1], t + timedelta(hours=3))]
    assert split_range(t, t + timedelta(minutes=10)) == (None, [(t, t + timedelta(minutes=10))])
    aligned = t.replace(minute=0)
    assert split_range(aligned, aligned + timedelta(hours=2)) == ((aligned, aligned + timedelta(hours=2)), [])


@pytest.mark.parametrize("tenant", [None, "t1", "t2"])
def test_stats_exact_against_raw_rows(engine, tenant):
    add_critical_entry(engine)
    ids = ingest(engine, mixed_events())
    with engine.begin() as conn:
        for i in (1, 2, 3, 9, 14):
            mark_recovery(conn, failure_id=ids[i], succeeded=True, recovered_by="a")
        for i in (4, 5, 14):  # 14: recovered then failed again
            mark_recovery(conn, failure_id=ids[i], succeeded=False, recovered_by="b")
    rows = all_rows(engine)
    ranges = ((hours_ago(24), hours_ago(0)), (hours_ago(30.3), hours_ago(2.7)), (hours_ago(0.4), hours_ago(0.1)))
    for start, end in ranges:
        with engine.connect() as conn:
            got = get_stats(conn, tenant_id=tenant, start=start, end=end)
        exp = _expected(rows, tenant, start, end)
        for key in ("total_failures", "matched_failures", "unmatched_failures", "recovery_attempts",
                    "recovery_successes"):
            assert got[key] == exp[key], (key, start, end)
        assert got["hit_rate"] == pytest.approx(exp["hit_rate"])
        assert got["recovery_success_rate"] == pytest.approx(exp["recovery_success_rate"])
        assert isinstance(got["hit_rate"], float) and 0.0 <= got["hit_rate"] <= 1.0
        assert {d["error_code"]: d["count"] for d in got["top_error_codes"]} == exp["codes"]
        assert got["by_severity"] == dict(exp["severity"])
        assert got["by_recovery_mode"] == dict(exp["modes"])
        assert got["time_range"]["start"] == start.isoformat()


def test_stats_empty_and_bad_range(engine):
    with engine.connect() as conn:
        got = get_stats(conn, tenant_id=None, start=hours_ago(1), end=hours_ago(0))
        assert got["total_failures"] == 0 and got["hit_rate"] == 0.0 and got["recovery_success_rate"] == 0.0
        assert got["top_error_codes"] == [] and got["by_severity"] == {}
        with pytest.raises(FilterError):
            get_stats(conn, tenant_id=None, start=hours_ago(0), end=hours_ago(1))
        with pytest.raises(FilterError):
            get_stats(conn, tenant_id=None, start=datetime(2026, 1, 1), end=hours_ago(1))
