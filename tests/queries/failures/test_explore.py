"""Explore's grouped view reads the rollup levels for whole-hour windows and the raw rows otherwise: both give
the same groups, counts, first and last seen and example message (the latest failure's, the greatest message on
a tie), also for rows whose rollups predate the stored times."""
from __future__ import annotations

import random
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import update

from core.schema import failure_rollups_daily
from loaders.ingest.pipeline import IngestPipeline
from queries.failures import explore as qe
from queries.failures.filters import FailureFilter
from queries.failures.listing import count_failures
from tests.support.spread_events import NOW, spread_events

COMPARED = ["key", "failures", "matched", "recovered", "first_seen", "last_seen", "example", "category"]


def _load(engine, metrics) -> None:
    # Whole minutes and 7 message variants: failures of a group share times and messages, so the tie rule matters.
    events = spread_events(500, random.Random(11), tenants=["t1", "t2"], days=4, suffix=7)
    IngestPipeline(engine, metrics=metrics).ingest(events)


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    return df[COMPARED].sort_values(["failures", "key"], ascending=[False, True]).reset_index(drop=True)


@pytest.mark.parametrize("by", ["error_code", "category"])
@pytest.mark.parametrize("tenant", [None, "t1"])
@pytest.mark.parametrize("hours", [(0, 24 * 3), (5, 30), (0, 24 * 5)])
def test_rollup_and_raw_groups_agree(engine, metrics, by, tenant, hours):
    _load(engine, metrics)
    end = NOW.replace(minute=0) + timedelta(hours=1) - timedelta(hours=hours[0])
    filt = FailureFilter(tenant_id=tenant, start=end - timedelta(hours=hours[1]), end=end)
    with engine.connect() as conn:
        fast, total = qe._groups_from_rollups(conn, filt, by, 100, qe.SPARK_BUCKETS)
        raw = qe._groups_from_raw(conn, filt, by, 100, qe.SPARK_BUCKETS)
        assert total == count_failures(conn, filt=filt) == fast["failures"].sum()
    assert len(fast) > 3
    pd.testing.assert_frame_equal(_frame(fast), _frame(raw))
    # The sparkline of each group adds up to its failures.
    assert [sum(s) for s in fast["sparkline"]] == fast["failures"].tolist()


def test_groups_without_stored_times_read_them_from_raw_rows(engine, metrics):
    _load(engine, metrics)
    end = NOW.replace(minute=0) + timedelta(hours=1)
    filt = FailureFilter(tenant_id="t2", start=end - timedelta(days=3), end=end)
    with engine.begin() as conn:  # rollups written before migration 0008 had no times
        conn.execute(update(failure_rollups_daily).values(first_at=None, last_at=None, last_message=None))
    with engine.connect() as conn:
        fast = qe._groups_from_rollups(conn, filt, "error_code", 100, qe.SPARK_BUCKETS)[0]
        raw = qe._groups_from_raw(conn, filt, "error_code", 100, qe.SPARK_BUCKETS)
    assert fast["last_seen"].notna().all()
    pd.testing.assert_frame_equal(_frame(fast), _frame(raw))


def test_grouped_view_total_counts_every_group_not_only_the_largest(engine, metrics):
    _load(engine, metrics)
    end = NOW.replace(minute=0) + timedelta(hours=1)
    for filt in (FailureFilter(start=end - timedelta(days=3), end=end),  # rollups
                 FailureFilter(start=end - timedelta(days=3), end=end, q="exceeded")):  # raw rows
        with engine.connect() as conn:
            groups, total = qe.get_grouped_view(conn, filt=filt, by="error_code", limit=1)
            assert len(groups) == 1
            assert total == count_failures(conn, filt=filt) > groups["failures"].iloc[0]


def test_a_statement_built_once_answers_each_tenant_and_filter_with_its_own_values(engine, metrics):
    # queries.sql keeps one statement per shape: the second tenant and code list must not see the first's.
    _load(engine, metrics)
    end = NOW.replace(minute=0) + timedelta(hours=1)
    with engine.connect() as conn:
        views = {}
        for tenant in ("t1", "t2"):
            for codes in ((), ("UNKNOWN",)):
                filt = FailureFilter(tenant_id=tenant, error_codes=codes, start=end - timedelta(days=3), end=end)
                groups, total = qe.get_grouped_view(conn, filt=filt)
                raw = qe._groups_from_raw(conn, filt, "error_code", 100, qe.SPARK_BUCKETS)
                pd.testing.assert_frame_equal(_frame(groups), _frame(raw))
                views[tenant, codes] = total
    assert views["t1", ()] != views["t2", ()]
    assert views["t1", ("UNKNOWN",)] < views["t1", ()]
