"""unmatched_signature_daily and _weekly equal a GROUP BY of the raw unmatched rows after ingest, promotion and
retention, and get_candidate_patterns (weekly rollup for whole weeks, daily for whole days, raw rows for the
edges, sampled skills/examples) equals an independent pandas computation over the raw rows, on both engines."""
from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from core.schema import failure_matches as fm
from core.schema import unmatched_signature_daily as usd
from core.schema import unmatched_signature_weekly as usw
from core.timebuckets import day_floor, week_floor
from core.types import utcnow
from loaders.catalog import candidates as qc
from loaders.catalog.promotion import promote_entry
from loaders.catalog.signature import normalise_message
from loaders.ingest.pipeline import IngestPipeline
from loaders.retention import apply_retention
from queries.rollups.signatures import expire_signature_rollups

# Unmatched families (no shipped catalog entry covers them); the last one never varies, so its sample can
# hold a single distinct message and the examples fall back to the full read.
TEMPLATES = [
    "widget frobnicator exploded at stage {n}",
    "quota for gizmo plan used up after {n} calls",
    "the flux capacitor wobbled",
    "sprocket {n} jammed in the gearbox",
]
MATCHED = "connect ECONNREFUSED 10.0.0.{n}:5432"
FORM = {"code": "WIDGET_STAGE_TEENS", "category": "TOOL_ERROR", "severity": "high",
        "message": "The widget exploded in a teen stage.", "recovery_mode": "RETRY_EXPONENTIAL",
        "recovery_suggestions": ["Restart the widget"], "is_retryable": True,
        # Matches only part of the widget signature (stages 10-19), so some keys are thinned, not emptied.
        "patterns": [r"exploded at stage 1\d\b"]}


def _seed(engine, metrics, *, n: int = 400, seed: int = 7, days: int = 7):
    rnd = random.Random(seed)
    day0 = day_floor(utcnow()) - timedelta(days=days - 1)
    events = []
    for i in range(n):
        day = rnd.randrange(days)
        # Mostly near the midnights (edge hours), some anywhere in the day, a few exactly at midnight.
        minute = rnd.choice([rnd.randrange(0, 90), rnd.randrange(1350, 1440), rnd.randrange(1440), 0])
        ts = day0 + timedelta(days=day, minutes=minute, seconds=rnd.randrange(60), microseconds=rnd.randrange(10**6))
        if ts > utcnow():
            ts = utcnow() - timedelta(seconds=rnd.randrange(1, 3600))
        template = MATCHED if rnd.random() < 0.15 else rnd.choice(TEMPLATES)
        events.append({"tenant_id": rnd.choice(["t1", "t2", "t3"]), "run_id": f"r{i}",
                       "skill_id": rnd.choice(["s1", "s2", "s3", "s4", None]),
                       "error_message": template.format(n=rnd.randrange(25)), "occurred_at": ts.isoformat()})
    report = IngestPipeline(engine, metrics=metrics).ingest(events)
    assert report.inserted == n, report.errors
    return day0


def _raw(conn) -> pd.DataFrame:
    rows = conn.execute(select(fm.c.tenant_id, fm.c.signature, fm.c.error_code, fm.c.error_message, fm.c.skill_id,
                               fm.c.created_at).where(fm.c.catalog_entry_id.is_(None))).all()
    df = pd.DataFrame(rows, columns=["tenant_id", "signature", "error_code", "error_message", "skill_id",
                                     "created_at"])
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df


def _assert_rollup_matches_raw(engine):
    with engine.connect() as conn:
        df = _raw(conn)
        levels = [(table, conn.execute(select(table).where(table.c.occurrences > 0)).mappings().all())
                  for table in (usd, usw)]
    for table, stored in levels:
        floor = day_floor if table is usd else week_floor
        df["bucket"] = [floor(ts) for ts in df["created_at"].dt.to_pydatetime()]
        expected = {
            (t, b, s, c): (len(g), g["created_at"].min().to_pydatetime(), g["created_at"].max().to_pydatetime())
            for (t, b, s, c), g in df.groupby(["tenant_id", "bucket", "signature", "error_code"])
        }
        got = {(r["tenant_id"], r["bucket"], r["signature"], r["error_code"]): (r["occurrences"], r["first_seen"],
                                                                              r["last_seen"]) for r in stored}
        assert got == expected, table.name
        assert len(expected) > 0


def test_rollup_follows_ingest_promotion_and_retention(engine, metrics):
    day0 = _seed(engine, metrics, days=12)  # at least one whole week and the days around it
    _assert_rollup_matches_raw(engine)
    with engine.begin() as conn:
        result = promote_entry(conn, entry=FORM, created_by="ada", batch_size=37)
    assert result.rematched > 0
    with engine.connect() as conn:
        still = conn.execute(select(fm.c.id).where(fm.c.catalog_entry_id.is_(None),
                                                   fm.c.error_message.like("widget frobnicator%"))).all()
    assert still, "the pattern must leave part of the widget signature unmatched"
    _assert_rollup_matches_raw(engine)
    # Retention with a cutoff inside a day: the days (weeks) before go, the cutoff's day (week) keeps the rows
    # >= cutoff.
    now = day0 + timedelta(days=8, hours=13) + timedelta(days=1)
    report = apply_retention(engine, days=1, now=now, batch_size=50)
    assert report.cutoff == day0 + timedelta(days=8, hours=13)
    _assert_rollup_matches_raw(engine)
    with engine.connect() as conn:
        assert conn.execute(select(usd.c.bucket).where(usd.c.bucket < day0 + timedelta(days=8))).first() is None
        assert conn.execute(select(usw.c.bucket).where(usw.c.bucket < week_floor(report.cutoff))).first() is None
    # Running the expiry again (or before the raw rows went) changes nothing.
    with engine.begin() as conn:
        expire_signature_rollups(conn, report.cutoff)
    _assert_rollup_matches_raw(engine)


def _reference(df: pd.DataFrame, *, tenant, start, end, min_occurrences, limit, sample_rows) -> list[dict]:
    """The candidates computed independently from the raw unmatched rows (pandas)."""
    if tenant:
        df = df[df["tenant_id"] == tenant]
    if start is not None:
        df = df[df["created_at"] >= start]
    if end is not None:
        df = df[df["created_at"] < end]
    out = []
    for sig, g in df.groupby("signature"):
        if len(g) < min_occurrences:
            continue
        last = g.groupby("error_message")["created_at"].max().reset_index()
        last = last.sort_values("error_message").sort_values("created_at", ascending=False, kind="stable")
        examples = list(last["error_message"][:qc.MAX_EXAMPLES])
        newest = g.sort_values("created_at", ascending=False)
        if len(newest) > sample_rows:  # the latest sample_rows rows, rows tied with the last one included
            newest = newest[newest["created_at"] >= newest["created_at"].iloc[sample_rows - 1]]
        skills = Counter(s for s in newest["skill_id"] if s is not None and not pd.isna(s))
        ranked = lambda c: [v for v, _n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]  # noqa: E731
        template = normalise_message(examples[0])
        out.append({
            "signature": sig, "template": template, "error_codes": ranked(Counter(g["error_code"])),
            "occurrences": len(g), "affected_skills": ranked(skills), "tenants": ranked(Counter(g["tenant_id"])),
            "examples": examples, "first_seen": g["created_at"].min(), "last_seen": g["created_at"].max(),
            "suggested_category": qc.suggest_category(template)[0],
            "suggested_recovery_mode": qc.suggest_category(template)[1],
        })
    out.sort(key=lambda r: r["signature"])
    out.sort(key=lambda r: r["occurrences"], reverse=True)
    return out[:limit]


@pytest.mark.parametrize("sample_rows", [4, 1000])
def test_candidates_equal_raw_computation(engine, metrics, monkeypatch, sample_rows):
    monkeypatch.setattr(qc, "SAMPLE_ROWS", sample_rows)
    day0 = _seed(engine, metrics, n=700, seed=sample_rows, days=20)
    with engine.begin() as conn:
        promote_entry(conn, entry=FORM, created_by="ada")  # some rollup keys thinned, some emptied
    d = lambda days, hours=0, minutes=0, us=0: day0 + timedelta(days=days, hours=hours, minutes=minutes,  # noqa: E731
                                                             microseconds=us)
    windows = [
        (d(1, 5), d(4, 17)),                       # hour-aligned, partial days at both ends
        (d(1, 3, 17, 345_678), d(3, 22, 1, 9)),    # arbitrary timestamps
        (d(2, 1), d(2, 20)),                       # inside one day
        (d(1), d(5)),                              # whole days only
        (d(0, 23, 59), d(1, 0, 1)),                # across one midnight, no whole day
        (None, d(3, 12)), (d(2, 6, 30), None), (None, None),
        (d(5), d(2)),                              # empty (start after end)
        (d(1, 5), d(18, 17)),                      # partial days, whole days and at least one whole week
        (d(0), d(20)),                             # whole days and weeks
        (None, d(15, 3)), (d(3, 2), None),         # open sides with whole weeks
    ]
    with engine.connect() as conn:
        raw = _raw(conn)
        for start, end in windows:
            for tenant in (None, "t2"):
                for min_occ, limit in ((1, 1000), (3, 2)):
                    got = qc.get_candidate_patterns(conn, tenant_id=tenant, start=start, end=end,
                                                    min_occurrences=min_occ, limit=limit)
                    expected = _reference(raw, tenant=tenant, start=start, end=end, min_occurrences=min_occ,
                                          limit=limit, sample_rows=sample_rows)
                    assert list(got.columns) == qc.COLUMNS
                    records = got.to_dict("records")
                    assert len(records) == len(expected), (start, end, tenant)
                    for g, e in zip(records, expected, strict=True):
                        assert {k: g[k] for k in e} == e, (start, end, tenant, min_occ)
                    if records:
                        assert got["occurrences"].dtype == "int64" and str(got["first_seen"].dt.tz) == "UTC"
    assert len(raw) > 300


def test_split_window_covers_the_window_once():
    """Weekly, daily and raw ranges tile [start, end) without gaps or overlaps, weeks on Mondays, days on
    midnights."""
    base = day_floor(utcnow())
    offsets = [timedelta(days=d, hours=h) for d in range(-16, 17, 3) for h in (0, 7)]
    for a in offsets:
        for b in offsets:
            start, end = base + a, base + b
            weeks, days, raw = qc.split_window(start, end)
            ranges = sorted(weeks + days + raw)
            if start >= end:
                assert not weeks and not days
                continue
            assert ranges[0][0] == start and ranges[-1][1] == end
            assert all(x[1] == y[0] for x, y in zip(ranges, ranges[1:], strict=False)), ranges
            assert all(week_floor(lo) == lo and week_floor(hi) == hi for lo, hi in weeks)
            assert all(day_floor(lo) == lo and day_floor(hi) == hi for lo, hi in days)
            # Days are read only where no whole week fits.
            assert all(week_floor(lo) + timedelta(days=14) > hi if week_floor(lo) != lo else hi - lo < timedelta(7)
                       for lo, hi in days)
            assert len(raw) <= 2 and all(hi - lo < timedelta(days=1) for lo, hi in raw)
    weeks, days, raw = qc.split_window(None, None)
    assert (weeks, days, raw) == ([(None, None)], [], [])
