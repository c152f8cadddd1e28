"""Retention: delete failures, history, rollups, emptied groups and export audit rows older than RETENTION_DAYS."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from core.db import note_rows_written
from core.schema import failure_matches, failure_pattern_exports, recovery_events
from core.timebuckets import hour_floor
from core.types import utcnow
from queries.failures.partitions import maintain_partitions
from queries.groups.store import expire_groups
from queries.rollups.failures import expire_rollups
from queries.rollups.signatures import expire_signature_rollups


@dataclass
class RetentionReport:
    """Rows removed per table and the cutoff used."""

    cutoff: datetime
    failures: int = 0
    recovery_events: int = 0
    rollups: int = 0
    exports: int = 0
    groups: int = 0  # groups whose failures were all older than the cutoff


def retention_cutoff(days: int, now: datetime | None = None) -> datetime:
    """Cutoff aligned to a whole hour, so rollup buckets and raw rows are removed together."""
    if days < 1:
        raise ValueError("retention days must be at least 1")
    return hour_floor((now or utcnow()) - timedelta(days=days))


def apply_retention(
    engine: Engine, *, days: int, batch_size: int = 5000, now: datetime | None = None
) -> RetentionReport:
    """Delete expired rows in batches of `batch_size` (short transactions keep writers unblocked)."""
    cutoff = retention_cutoff(days, now)
    report = RetentionReport(cutoff=cutoff)
    fm = failure_matches
    # PostgreSQL: whole weeks before the cutoff are detached and dropped (rows counted first) and the next
    # weeks' partitions created; the batches below then only meet the week that straddles the cutoff.
    report.failures, report.recovery_events = maintain_partitions(engine, cutoff)
    while True:
        with engine.begin() as conn:
            ids = list(conn.execute(select(fm.c.id).where(fm.c.created_at < cutoff).limit(batch_size)).scalars())
            if not ids:
                break
            report.recovery_events += conn.execute(
                delete(recovery_events).where(recovery_events.c.failure_id.in_(ids))
            ).rowcount
            report.failures += conn.execute(delete(fm).where(fm.c.id.in_(ids), fm.c.created_at < cutoff)).rowcount
    with engine.begin() as conn:
        report.recovery_events += conn.execute(delete(recovery_events).where(recovery_events.c.at < cutoff)).rowcount
        report.rollups += expire_rollups(conn, cutoff)
        report.exports += conn.execute(
            delete(failure_pattern_exports).where(
                failure_pattern_exports.c.created_at < cutoff,
                failure_pattern_exports.c.status.in_(("uploaded", "failed")),
            )
        ).rowcount
    with engine.begin() as conn:
        expire_signature_rollups(conn, cutoff)
    with engine.begin() as conn:
        report.groups = expire_groups(conn, cutoff)
    note_rows_written(engine, report.failures)  # a large deletion changes the planner's picture as much
    return report
