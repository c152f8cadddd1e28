"""Synthetic validation: ingest events whose outcome is known and compare expected with stored counts."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from core.metrics import FailcatMetrics
from core.schema import failure_matches as fm
from core.schema import failure_rollups as fr
from core.types import utcnow
from demo.seed import apply_recoveries
from demo.synthetic import SyntheticGenerator
from loaders.catalog.matcher import load_matcher
from loaders.ingest.pipeline import IngestPipeline

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
    """The validation tenant and the table of checks."""

    tenant_id: str
    rows: list[ValidationRow]
    spooled: int

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
) -> ValidationResult:
    """Generate `events` known-outcome failures for a fresh tenant, store them, and compare counts."""
    tenant_id = tenant_id or validation_tenant()
    matcher = load_matcher(engine)
    pipeline = IngestPipeline(engine, matcher=matcher, metrics=metrics)
    pipeline.ensure_enabled()
    generator = SyntheticGenerator(matcher.entries, seed=seed, tenants=[tenant_id], days=1, end=utcnow(),
                                   matcher=matcher)
    planned = list(generator.generate(events))
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
    rows = [ValidationRow(name, expected[name], stored[name]) for name in CHECKS]
    return ValidationResult(tenant_id, rows, report.spooled)


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

