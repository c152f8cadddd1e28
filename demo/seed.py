"""Seed a database with synthetic failures through the ingest pipeline, then apply planned recoveries."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from core.db import refresh_statistics
from core.metrics import FailcatMetrics
from core.types import utcnow
from demo.synthetic import ACTORS, PlannedFailure, SyntheticGenerator, batched
from loaders.catalog.matcher import Matcher, load_matcher
from loaders.ingest.pipeline import IngestPipeline, IngestReport
from queries.failures.recovery import RecoveryChange, count_recovery_changes, mark_recoveries

CHUNK = 5000
RECOVERY_BATCH = 1000
RECOVERY_WORKERS = 4


@dataclass
class SeedReport:
    """What a seed did: ingest counts, recoveries applied and timings."""

    ingest: IngestReport = field(default_factory=IngestReport)
    recoveries_attempted: int = 0
    recoveries_succeeded: int = 0
    ingest_seconds: float = 0.0
    recovery_seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        """Ingest throughput (events received per second of ingest)."""
        return self.ingest.received / self.ingest_seconds if self.ingest_seconds else 0.0


def apply_recoveries(
    engine: Engine,
    planned: Iterable[tuple[str, bool]],
    *,
    metrics: FailcatMetrics | None = None,
    batch_size: int = RECOVERY_BATCH,
    source: str = "seed",
    workers: int | None = None,
) -> tuple[int, int]:
    """Mark (failure id, succeeded) pairs in batches via mark_recoveries; return (attempted, succeeded).

    Each batch is one transaction. On PostgreSQL several batches run at once (disjoint rows; rollup keys are
    upserted in sorted order, so concurrent batches wait for each other but cannot deadlock)."""
    by_outcome: dict[bool, list[str]] = {True: [], False: []}
    for fid, succeeded in planned:
        by_outcome[succeeded].append(fid)
    jobs = [
        (ids[i:i + batch_size], succeeded, ACTORS[(i // batch_size) % len(ACTORS)])
        for succeeded, ids in by_outcome.items()
        for i in range(0, len(ids), batch_size)
    ]

    def run(job: tuple[list[str], bool, str]) -> list[RecoveryChange]:
        chunk, succeeded, actor = job
        with engine.begin() as conn:
            return mark_recoveries(
                conn, items=[(fid, None) for fid in chunk], succeeded=succeeded, recovered_by=actor,
                notes="synthetic recovery" if succeeded else "synthetic recovery attempt failed", source=source,
            )

    if workers is None:
        workers = RECOVERY_WORKERS if engine.dialect.name == "postgresql" else 1
    if workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(run, jobs))
    else:
        results = [run(job) for job in jobs]
    if metrics is not None:
        for changes in results:
            count_recovery_changes(metrics, changes)
    attempted = sum(len(job[0]) for job in jobs)
    succeeded_n = sum(len(job[0]) for job in jobs if job[1])
    return attempted, succeeded_n


def seed_database(
    engine: Engine,
    *,
    events: int,
    tenants: int | list[str],
    days: float,
    seed: int | None = None,
    pipeline: IngestPipeline | None = None,
    matcher: Matcher | None = None,
    on_chunk: Callable[[int], None] | None = None,
    end: datetime | None = None,
) -> SeedReport:
    """Generate `events` synthetic failures over the `days` before `end` (now by default), ingest them and apply
    their planned recoveries. The same seed and end give the same events and ids."""
    pipeline = pipeline or IngestPipeline(engine)
    pipeline.ensure_enabled()
    matcher = matcher or load_matcher(engine)
    generator = SyntheticGenerator(matcher.entries, seed=seed, tenants=tenants, days=days,
                                   end=end or utcnow(), matcher=matcher)
    report = SeedReport()
    recoveries: list[tuple[str, bool]] = []
    started = time.perf_counter()
    for chunk in batched(generator.generate(events), CHUNK):
        report.ingest.merge(_ingest_chunk(pipeline, chunk))
        recoveries.extend((p.id, p.recovery) for p in chunk if p.recovery is not None)
        if on_chunk is not None:
            on_chunk(len(chunk))
    report.ingest_seconds = time.perf_counter() - started
    if report.ingest.spooled or report.ingest.dropped:
        return report  # the database went away: recoveries would hit rows that are not there yet
    started = time.perf_counter()
    report.recoveries_attempted, report.recoveries_succeeded = apply_recoveries(
        engine, recoveries, metrics=pipeline.metrics
    )
    report.recovery_seconds = time.perf_counter() - started
    refresh_statistics(engine)
    return report


def _ingest_chunk(pipeline: IngestPipeline, chunk: list[PlannedFailure]) -> IngestReport:
    report = pipeline.ingest([p.event for p in chunk], replay=False)
    report.ids = []  # 200k ids are not needed by the caller
    return report
