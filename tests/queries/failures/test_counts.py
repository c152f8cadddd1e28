"""count_failures from the rollups equals the raw COUNT(*) for every filter the rollups can answer."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from core.schema import failure_matches as fm
from loaders.ingest.pipeline import IngestPipeline
from queries.failures.counts import count_from_rollups
from queries.failures.filters import STATUSES, FailureFilter
from queries.failures.listing import count_failures, count_failures_query
from queries.failures.recovery import mark_recovery
from tests.support.spread_events import NOW, spread_events


def test_rollup_counts_equal_raw_counts(engine, metrics):
    rng = random.Random(11)
    events = spread_events(500, rng, tenants=["t1", "t2"], days=5, runs=9)
    IngestPipeline(engine, metrics=metrics).ingest(events)
    with engine.begin() as conn:
        for i, fid in enumerate(conn.execute(select(fm.c.id).order_by(fm.c.id).limit(150)).scalars()):
            mark_recovery(conn, failure_id=fid, succeeded=i % 3 == 0, recovered_by="ops")
        codes = sorted(set(conn.execute(select(fm.c.error_code)).scalars()))
    checked = 0
    with engine.connect() as conn:
        for _ in range(60):
            start = NOW - timedelta(minutes=rng.randrange(0, 6 * 24 * 60))
            end = start + timedelta(minutes=rng.randrange(1, 4 * 24 * 60))
            shape = rng.choice(["window", "window", "all time", "since"])
            filt = FailureFilter(
                tenant_id=rng.choice([None, "t1", "t2"]), status=rng.choice(STATUSES),
                error_codes=rng.sample(codes, rng.randrange(0, 3)) or None,
                matched=rng.choice([None, True, False]),
                start=None if shape == "all time" else start, end=end if shape == "window" else None)
            raw = int(conn.execute(count_failures_query(filt=filt)).scalar_one())
            fast = count_from_rollups(conn, filt)
            if fast is not None:
                checked += 1
                assert fast == raw, filt
            assert count_failures(conn, filt=filt) == raw
    assert checked > 40  # most random filters took the rollup path
    with engine.connect() as conn:  # text filters need raw rows
        assert count_from_rollups(conn, FailureFilter(q="gizmo", start=NOW - timedelta(days=2), end=NOW)) is None
