"""get_overview (two rollup reads) returns the same frames as the single-purpose overview queries."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from queries.reports import overview as q
from tests.support.ops_seed import seed


@pytest.mark.parametrize("days", [1, 7, 30])
def test_overview_frames_equal_the_single_queries(engine, days):
    seed(engine)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(days=days)
    with engine.connect() as conn:
        for tenant in (None, "t1", "nobody"):
            got = q.get_overview(conn, tenant_id=tenant, start=start, end=end, limit=5)
            expected = {
                "summary": q.get_summary(conn, tenant_id=tenant, start=start, end=end),
                "previous": q.get_summary(conn, tenant_id=tenant, start=start - (end - start), end=start),
                "series": q.get_rate_series(conn, tenant_id=tenant, start=start, end=end),
                "top_codes": q.get_top_codes(conn, tenant_id=tenant, start=start, end=end, limit=5),
                "modes": q.get_recovery_by_mode(conn, tenant_id=tenant, start=start, end=end),
            }
            assert set(got) == set(expected)
            for name, frame in expected.items():
                pd.testing.assert_frame_equal(got[name].reset_index(drop=True), frame.reset_index(drop=True),
                                              check_dtype=True, obj=f"{name} {tenant}")
            if tenant == "t1":
                assert int(got["summary"]["failures"].iloc[0]) > 0 or days == 1
