"""Ingest throughput: events/s through the pipeline into PostgreSQL against a plain COPY of the same rows.

`.venv/bin/python -m bench.ingest --events 200000` creates a scratch database, migrates it, runs both
loads on the same rows three times in turn (the tables emptied before each) and drops the database; the
figures are the medians. Prints JSON lines
{"name", "value", "unit"}; the pipeline line carries the COPY rate as "baseline" and pipeline/COPY as "ratio".
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import sys
import time
import uuid
from typing import Any

from psycopg2 import sql
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bench.fill import LEVEL_TABLES
from core.db import create_database, drop_database, make_engine
from core.metrics import FailcatMetrics
from core.schema import failure_matches
from core.types import utcnow
from demo.synthetic import SyntheticGenerator
from loaders.catalog.matcher import load_matcher
from loaders.ingest.events import FailureEvent
from loaders.ingest.pipeline import IngestPipeline, build_row
from loaders.migrate import migrate
from queries.failures.partitions import ensure_for_times

ADMIN_URL = os.environ.get("FAILCAT_BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
TARGET_RATIO = 1 / 3
ROUNDS = 3  # COPY and pipeline runs taken in turn; the figures are their medians
COLUMNS = [c.name for c in failure_matches.c]


def _emit(name: str, value: float, unit: str, **extra: Any) -> None:
    print(json.dumps({"name": name, "value": round(value, 3), "unit": unit, **extra}), flush=True)


def _copy_buffer(rows: list[dict[str, Any]]) -> io.StringIO:
    """CSV text of failure_matches rows in column order (what any bulk loader has to produce)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        out = []
        for name in COLUMNS:
            value = row[name]
            if value is None:
                out.append("")  # COPY CSV reads an unquoted empty field as NULL
            elif name == "context":
                out.append(json.dumps(value))
            elif isinstance(value, bool):
                out.append("t" if value else "f")
            else:
                out.append(value.isoformat() if hasattr(value, "isoformat") else str(value))
        writer.writerow(out)
    buf.seek(0)
    return buf


# Every table a load writes: each timed load starts from empty tables, so no round updates what another inserted.
_WRITTEN = ("failure_matches", "failure_rollups", *LEVEL_TABLES)
_TRUNCATE = sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in _WRITTEN))
_COPY_CSV = sql.SQL("COPY failure_matches ({}) FROM STDIN WITH (FORMAT csv)").format(
    sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS))


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(_TRUNCATE.as_string(conn.connection.dbapi_connection))


def _copy(engine: Engine, rows: list[dict[str, Any]]) -> float:
    """Seconds to COPY the rows into the (empty) table."""
    started = time.perf_counter()
    raw_conn = engine.raw_connection()
    try:
        cur = raw_conn.cursor()
        cur.copy_expert(_COPY_CSV, _copy_buffer(rows))
        raw_conn.commit()
    finally:
        raw_conn.close()
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        copied = conn.execute(text("SELECT count(*) FROM failure_matches")).scalar_one()
    if copied != len(rows):
        raise RuntimeError(f"COPY stored {copied} rows, expected {len(rows)}")
    return seconds


def run(events: int, seed: int, rounds: int = ROUNDS) -> dict[str, float]:
    """Run both loads in a scratch database, `rounds` times in turn (tables emptied before each); return the
    medians. One COPY of 50k rows takes a few seconds and its rate moves by 15-30% from run to run on a shared
    machine, so a single pair of runs gives a ratio that moves as much."""
    name = f"failcat_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    create_database(admin, name)
    engine = make_engine(ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    copy_runs: list[float] = []
    pipe_runs: list[float] = []
    try:
        migrate(engine)
        matcher = load_matcher(engine)
        gen = SyntheticGenerator(matcher.entries, seed=seed, tenants=10, days=30, end=utcnow(), matcher=matcher)
        raw = [p.event for p in gen.generate(events)]

        now = utcnow()
        rows = [build_row(FailureEvent.model_validate(e), matcher, now) for e in raw]
        ensure_for_times(engine, [r["created_at"] for r in rows])  # weekly partitions on PostgreSQL (not timed)
        for _ in range(max(1, rounds)):
            _empty(engine)
            copy_runs.append(_copy(engine, rows))
            _empty(engine)
            pipeline = IngestPipeline(engine, matcher=matcher, metrics=FailcatMetrics())
            started = time.perf_counter()
            report = pipeline.ingest(raw, replay=False)
            pipe_runs.append(time.perf_counter() - started)
            if report.inserted != events:
                raise RuntimeError(f"pipeline stored {report.inserted} rows, expected {events}")
    finally:
        engine.dispose()
        drop_database(admin, name)
        admin.dispose()
    pipe_seconds, copy_seconds = statistics.median(pipe_runs), statistics.median(copy_runs)
    return {"pipeline": events / pipe_seconds, "copy": events / copy_seconds,
            "pipeline_seconds": pipe_seconds, "copy_seconds": copy_seconds, "rounds": len(pipe_runs)}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print JSON lines; exit 1 below the target ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    figures = run(args.events, args.seed)
    ratio = figures["pipeline"] / figures["copy"]
    _emit("ingest_pipeline_events_per_s", figures["pipeline"], "events/s",
          baseline=round(figures["copy"], 3), ratio=round(ratio, 4), events=args.events,
          seconds=round(figures["pipeline_seconds"], 3))
    _emit("copy_events_per_s", figures["copy"], "events/s", events=args.events,
          seconds=round(figures["copy_seconds"], 3))
    _emit("ingest_vs_copy_ratio", ratio, "ratio", baseline=round(TARGET_RATIO, 4),
          ratio=round(ratio / TARGET_RATIO, 4))
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
