"""Every rollup level (hourly, daily, tenant-hourly, totals) equals an independent GROUP BY of the raw rows after
ingest, recovery marks, a promotion and retention, first/last seen and latest message included; rollup_source
reads a window exactly."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from core.schema import failure_matches as fm
from core.schema import failure_rollups as fr
from core.schema import (
    failure_rollups_all,
    failure_rollups_daily,
    failure_rollups_daily_all,
    failure_rollups_tenant_hourly,
    failure_totals,
)
from loaders.catalog.promotion import promote_entry
from loaders.ingest.pipeline import IngestPipeline
from loaders.retention import apply_retention
from queries.failures.recovery import mark_recovery
from queries.rollups.reads import rollup_source
from tests.support.spread_events import NOW, spread_events

COUNTS = ["failures", "recovery_attempts", "recovery_successes"]
KEY = ["tenant_id", "error_code", "category", "severity", "recovery_mode", "matched"]


def _raw(conn) -> pd.DataFrame:
    df = pd.DataFrame(conn.execute(select(
        fm.c.tenant_id, fm.c.error_code, fm.c.category, fm.c.severity, fm.c.recovery_mode, fm.c.catalog_entry_id,
        fm.c.recovery_attempted, fm.c.recovery_succeeded, fm.c.created_at, fm.c.error_message)).mappings().all())
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    for col in ("category", "severity", "recovery_mode"):
        df[col] = df[col].fillna("")
    df["matched"] = df["catalog_entry_id"].notna()
    df["failures"] = 1
    df["recovery_attempts"] = df["recovery_attempted"].astype(int)
    df["recovery_successes"] = (df["recovery_succeeded"] == True).astype(int)  # noqa: E712
    df["hour"] = df["created_at"].dt.floor("h")
    df["day"] = df["created_at"].dt.floor("D")
    return df


def _expected(df: pd.DataFrame, keys: list[str]) -> dict:
    grouped = df.groupby(keys)[COUNTS].sum()
    return {tuple(k if isinstance(k, tuple) else (k,)): tuple(int(x) for x in v) for k, v in grouped.iterrows()}


def _stored(conn, table, keys: list[str]) -> dict:
    rows = conn.execute(select(*[table.c[k] for k in keys], *[table.c[c] for c in COUNTS])).all()
    out = {}
    for r in rows:
        key = tuple(pd.Timestamp(v) if isinstance(v, datetime) else (bool(v) if k == "matched" else v)
                    for k, v in zip(keys, r[:len(keys)], strict=True))
        counts = tuple(int(x) for x in r[len(keys):])
        if any(counts):
            out[key] = counts
    return out


def _check(engine, *, seen_exact: bool = True) -> None:
    with engine.connect() as conn:
        df = _raw(conn)
        renamed = {"bucket": "hour"}
        hourly_keys = ["tenant_id", "bucket", *KEY[1:]]
        expected = _expected(df.rename(columns={"hour": "bucket"}), hourly_keys)
        assert _stored(conn, fr, hourly_keys) == expected
        expected = _expected(df.drop(columns="hour").rename(columns={"day": "bucket"}), hourly_keys)
        assert _stored(conn, failure_rollups_daily, hourly_keys) == expected
        keys = ["tenant_id", "bucket", "matched"]
        assert _stored(conn, failure_rollups_tenant_hourly, keys) == _expected(df.rename(columns=renamed | {
            "hour": "bucket"}), keys)
        assert _stored(conn, failure_totals, KEY) == _expected(df, KEY)
        all_keys = ["bucket", *KEY[1:]]
        assert _stored(conn, failure_rollups_all, all_keys) == _expected(df.rename(columns={"hour": "bucket"}),
                                                                         all_keys)
        assert _stored(conn, failure_rollups_daily_all, all_keys) == _expected(
            df.drop(columns="hour").rename(columns={"day": "bucket"}), all_keys)
        _check_seen(conn, df)
        if seen_exact:
            seen = df.groupby(KEY)["hour"].agg(["min", "max"])
            rows = conn.execute(select(*[failure_totals.c[k] for k in KEY], failure_totals.c.first_seen,
                                       failure_totals.c.last_seen).where(failure_totals.c.failures > 0)).all()
            assert len(rows) == len(seen)
            for r in rows:
                lo, hi = seen.loc[tuple(r[:5]) + (bool(r[5]),)]
                assert (pd.Timestamp(r.first_seen), pd.Timestamp(r.last_seen)) == (lo, hi)


def _check_seen(conn, df: pd.DataFrame) -> None:
    """first_at, last_at and last_message of every counted row of the four levels that carry them equal the raw
    rows' earliest and latest created_at and the latest one's message (the greatest message on a tie)."""
    hourly_keys = ["tenant_id", "bucket", *KEY[1:]]
    all_keys = ["bucket", *KEY[1:]]
    for table, keys, time in ((fr, hourly_keys, "hour"), (failure_rollups_daily, hourly_keys, "day"),
                              (failure_rollups_all, all_keys, "hour"), (failure_rollups_daily_all, all_keys, "day")):
        raw = df.assign(bucket=df[time]).sort_values(["created_at", "error_message"])
        expected = {}
        for key, g in raw.groupby(keys):
            expected[tuple(pd.Timestamp(k) if isinstance(k, (datetime, pd.Timestamp)) else k for k in key)] = (
                g["created_at"].iloc[0], g["created_at"].iloc[-1], g["error_message"].iloc[-1])
        rows = conn.execute(select(*[table.c[k] for k in keys], table.c.first_at, table.c.last_at,
                                   table.c.last_message).where(table.c.failures > 0)).all()
        got = {tuple(pd.Timestamp(v) if isinstance(v, datetime) else (bool(v) if k == "matched" else v)
                     for k, v in zip(keys, r[:len(keys)], strict=True)):
               (pd.Timestamp(r.first_at), pd.Timestamp(r.last_at), r.last_message) for r in rows}
        assert got == expected, table.name


def _events(n: int, rng: random.Random) -> list[dict]:
    return spread_events(n, rng, tenants=["t1", "t2", "t3"], days=6, runs=17)


def test_levels_follow_ingest_recovery_promotion_and_retention(engine, metrics):
    rng = random.Random(7)
    IngestPipeline(engine, metrics=metrics).ingest(_events(400, rng))
    _check(engine)

    with engine.begin() as conn:
        ids = list(conn.execute(select(fm.c.id).order_by(fm.c.id).limit(120)).scalars())
        for i, fid in enumerate(ids):
            mark_recovery(conn, failure_id=fid, succeeded=i % 3 != 0, recovered_by="ops")
        for fid in ids[:20]:  # a second mark moves rows between succeeded and failed
            mark_recovery(conn, failure_id=fid, succeeded=False, recovered_by="ops")
    _check(engine)

    with engine.begin() as conn:
        result = promote_entry(conn, entry={
            "code": "GIZMO_WOBBLE", "category": "TOOL_ERROR", "severity": "medium", "message": "Gizmo wobbled.",
            "keywords": ["gizmo", "wobbled"], "recovery_mode": "RETRY_EXPONENTIAL",
            "recovery_suggestions": ["Steady the gizmo"]}, created_by="ada")
    assert result.rematched > 0
    _check(engine)

    # A cutoff in the middle of a day: the daily row of that day keeps only its later hours.
    report = apply_retention(engine, days=3, now=NOW)
    assert report.cutoff.hour == NOW.hour and report.failures > 0
    with engine.connect() as conn:
        assert conn.execute(select(func.min(fm.c.created_at))).scalar() >= report.cutoff
    _check(engine, seen_exact=False)


@pytest.mark.parametrize("hours", [(0, 5), (3, 30), (5, 24 * 4 + 7), (24, 48), (0, 24 * 6)])
def test_rollup_source_equals_raw_rows_of_the_window(engine, metrics, hours):
    IngestPipeline(engine, metrics=metrics).ingest(_events(300, random.Random(3)))
    end = NOW.replace(minute=0) - timedelta(hours=hours[0])
    start = end - timedelta(hours=hours[1])
    for tenant in (None, "t2"):
        src = rollup_source(tenant_id=tenant, start=start, end=end)
        with engine.connect() as conn:
            got = conn.execute(select(src.c.error_code, func.sum(src.c.failures), func.sum(src.c.recovery_attempts))
                               .group_by(src.c.error_code)).all()
            df = _raw(conn)
        df = df[(df["created_at"] >= start) & (df["created_at"] < end)]
        if tenant:
            df = df[df["tenant_id"] == tenant]
        expected = {c: (int(g["failures"].sum()), int(g["recovery_attempts"].sum()))
                    for c, g in df.groupby("error_code")}
        assert {c: (int(n), int(a)) for c, n, a in got if n} == expected


def test_promotion_recomputes_first_and_last_seen_of_the_rows_it_empties(engine, metrics):
    # Unmatched failures of two kinds share each hour; the gizmo ones are the latest of their hour, so once they
    # are promoted to a new code the unmatched rows keep the other messages' times and message.
    events = []
    for i in range(24):
        at = NOW - timedelta(hours=i % 3, minutes=50 - i)
        message = f"gizmo wobbled unexpectedly at step {i}" if i % 2 else f"flux capacitor drained in cycle {i}"
        events.append({"tenant_id": "t1", "run_id": f"run{i}", "error_message": message, "occurred_at": at.isoformat()})
    IngestPipeline(engine, metrics=metrics).ingest(events)
    with engine.begin() as conn:
        result = promote_entry(conn, entry={
            "code": "GIZMO_WOBBLE", "category": "TOOL_ERROR", "severity": "medium", "message": "Gizmo wobbled.",
            "keywords": ["gizmo", "wobbled"], "recovery_mode": "RETRY_EXPONENTIAL",
            "recovery_suggestions": ["Steady the gizmo"]}, created_by="ada")
    assert result.rematched == 12
    with engine.connect() as conn:
        df = _raw(conn)
        assert set(df.loc[~df["matched"], "error_message"].str.split().str[0]) == {"flux"}
        _check_seen(conn, df)
