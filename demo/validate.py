"""Synthetic validation: ingest events whose outcome is known, compare expected with stored counts, clean up.

A run touches nothing of the product's but the database rows it writes, and deletes those afterwards unless
asked to keep them: its counters go to a registry of its own (never the process's /metrics or the
pushgateway), and events it could not store go to a spool of its own, discarded with the run.
"""
from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from core.metrics import FailcatMetrics
from core.schema import failure_matches as fm
from core.schema import failure_rollups as fr
from core.types import utcnow
from demo.seed import apply_recoveries
from demo.synthetic import PlannedFailure, SyntheticGenerator
from loaders.catalog.matcher import load_matcher
from loaders.ingest.pipeline import IngestPipeline
from loaders.ingest.spool import Spool
from queries.failures.removal import Removed, delete_failures

CLEANUP_BATCH = 1000
CHECKS = ("persisted", "matched", "matched_expected_code", "unmatched", "recovery_attempted",
          "recovery_succeeded", "rollup_failures", "rollup_recovery_attempts", "rollup_recovery_successes")


@dataclass(frozen=True)
class ValidationRow:
    """One line of the validation table."""

    check: str
    expected: int
    stored: int

    @property
    def ok(self) -> bool:
        """True when the stored value equals the expected one."""
        return self.expected == self.stored


@dataclass(frozen=True)
class ValidationResult:
    """The validation tenant, the table of checks and what the cleanup deleted (None: the rows were kept)."""

    tenant_id: str
    rows: list[ValidationRow]
    spooled: int
    removed: Removed | None = None

    @property
    def ok(self) -> bool:
        """True when every check matches."""
        return all(r.ok for r in self.rows)

    def table(self) -> str:
        """The checks as a fixed-width text table."""
        lines = [f"{'check':<28} {'expected':>9} {'stored':>9}  result"]
        for r in self.rows:
            lines.append(f"{r.check:<28} {r.expected:>9} {r.stored:>9}  {'ok' if r.ok else 'DIFF'}")
        return "\n".join(lines)


def validation_tenant() -> str:
    """A tenant id that no other data uses: validate-<UTC timestamp>-<random>."""
    return f"validate-{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def run_validation(
    engine: Engine,
    *,
    events: int = 1000,
    seed: int | None = None,
    tenant_id: str | None = None,
    metrics: FailcatMetrics | None = None,
    keep: bool = False,
) -> ValidationResult:
    """Store `events` known-outcome failures for a fresh tenant, compare counts, and delete them unless `keep`."""
    tenant_id = tenant_id or validation_tenant()
    matcher = load_matcher(engine)
    generator = SyntheticGenerator(matcher.entries, seed=seed, tenants=[tenant_id], days=1, end=utcnow(),
                                   matcher=matcher)
    planned = list(generator.generate(events))
    with tempfile.TemporaryDirectory(prefix="failcat-validate-") as spool_dir:
        pipeline = IngestPipeline(engine, matcher=matcher, metrics=metrics or FailcatMetrics(),
                                  spool=Spool(Path(spool_dir)))
        pipeline.ensure_enabled()
        try:
            rows, spooled = _ingest_and_compare(engine, pipeline, tenant_id, planned)
        finally:
            removed = None if keep else remove_validation_rows(engine, [p.id for p in planned])
    return ValidationResult(tenant_id, rows, spooled, removed)


def _ingest_and_compare(engine: Engine, pipeline: IngestPipeline, tenant_id: str,
                        planned: list[PlannedFailure]) -> tuple[list[ValidationRow], int]:
    report = pipeline.ingest([p.event for p in planned], replay=False)
    recoveries = [(p.id, p.recovery) for p in planned if p.recovery is not None]
    if not report.spooled and not report.dropped:
        apply_recoveries(engine, recoveries, metrics=pipeline.metrics, source="validate")
    expected = {
        "persisted": len(planned),
        "matched": sum(p.expected_code is not None for p in planned),
        "matched_expected_code": sum(p.expected_code is not None for p in planned),
        "unmatched": sum(p.expected_code is None for p in planned),
        "recovery_attempted": len(recoveries),
        "recovery_succeeded": sum(1 for _, ok in recoveries if ok),
    }
    expected["rollup_failures"] = expected["persisted"]
    expected["rollup_recovery_attempts"] = expected["recovery_attempted"]
    expected["rollup_recovery_successes"] = expected["recovery_succeeded"]
    stored = _stored_counts(engine, tenant_id, {p.id: p.expected_code for p in planned})
    return [ValidationRow(name, expected[name], stored[name]) for name in CHECKS], report.spooled


def remove_validation_rows(engine: Engine, ids: list[str]) -> Removed:
    """Delete a run's failures with their history, rollups and groups, a transaction per batch of ids."""
    failures = history = 0
    for i in range(0, len(ids), CLEANUP_BATCH):
        with engine.begin() as conn:
            removed = delete_failures(conn, ids[i:i + CLEANUP_BATCH])
        failures, history = failures + removed.failures, history + removed.recovery_events
    return Removed(failures=failures, recovery_events=history)


def _stored_counts(engine: Engine, tenant_id: str, codes: dict[str, str | None]) -> dict[str, int]:
    """Counts read back from the database for the validation tenant (independent of the ingest report)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                func.count(),
                func.count(fm.c.catalog_entry_id),
                func.sum(case((fm.c.recovery_attempted.is_(True), 1), else_=0)),
                func.sum(case((fm.c.recovery_succeeded.is_(True), 1), else_=0)),
            ).where(fm.c.tenant_id == tenant_id)
        ).one()
        hits = conn.execute(
            select(fm.c.id, fm.c.error_code).where(and_(fm.c.tenant_id == tenant_id,
                                                        fm.c.catalog_entry_id.is_not(None)))
        ).all()
        roll = conn.execute(
            select(func.sum(fr.c.failures), func.sum(fr.c.recovery_attempts), func.sum(fr.c.recovery_successes))
            .where(fr.c.tenant_id == tenant_id)
        ).one()
    persisted, matched = int(row[0]), int(row[1])
    return {
        "persisted": persisted,
        "matched": matched,
        "matched_expected_code": sum(1 for fid, code in hits if codes.get(str(fid)) == code),
        "unmatched": persisted - matched,
        "recovery_attempted": int(row[2] or 0),
        "recovery_succeeded": int(row[3] or 0),
        "rollup_failures": int(roll[0] or 0),
        "rollup_recovery_attempts": int(roll[1] or 0),
        "rollup_recovery_successes": int(roll[2] or 0),
    }

