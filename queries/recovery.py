"""Recovery state changes: version-checked updates, history rows and rollup deltas in one transaction."""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from core.metrics import FailcatMetrics
from core.schema import failure_matches, recovery_events
from core.types import utcnow
from queries.rollups import RollupKey, apply_rollup_deltas, rollup_key

UNRECOVERED, FAILED, RECOVERED = "unrecovered", "failed", "recovered"


class FailureNotFound(LookupError):
    """No failure with that id is visible in the caller's tenant scope."""


class RecoveryConflict(RuntimeError):
    """Someone changed the failure after the caller read it (version mismatch)."""

    def __init__(self, failure_id: uuid.UUID, expected: int, current: int, current_state: str, by: str | None):
        super().__init__(
            f"failure {failure_id} was changed by someone else (now {current_state}"
            + (f" by {by}" if by else "")
            + f", version {current} instead of {expected}); reload and try again"
        )
        self.failure_id, self.expected, self.current = failure_id, expected, current
        self.current_state, self.current_by = current_state, by


@dataclass(frozen=True)
class RecoveryChange:
    """What one mark did: the states before and after and the row's new version."""

    failure_id: uuid.UUID
    tenant_id: str
    error_code: str
    recovery_mode: str | None
    from_state: str
    to_state: str
    version: int
    changed: bool


def state_of(attempted: bool, succeeded: bool | None) -> str:
    """Recovery state name from the two stored flags."""
    if not attempted:
        return UNRECOVERED
    return RECOVERED if succeeded else FAILED


def _parse_id(failure_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(failure_id, uuid.UUID):
        return failure_id
    try:
        return uuid.UUID(str(failure_id))
    except ValueError as exc:
        raise FailureNotFound(f"failure id {failure_id!r} is not a valid id") from exc


def mark_recoveries(
    conn: Connection,
    *,
    items: Sequence[tuple[uuid.UUID | str, int | None]],
    succeeded: bool,
    recovered_by: str,
    notes: str | None = None,
    tenant_scope: str | None = None,
    source: str = "api",
) -> list[RecoveryChange]:
    """Mark failures (id, expected version or None) in the caller's transaction; all or nothing."""
    recovered_by = (recovered_by or "").strip()
    if not recovered_by:
        raise ValueError("recovered_by is required")
    to_state = RECOVERED if succeeded else FAILED
    now = utcnow()
    changes: list[RecoveryChange] = []
    deltas: dict[RollupKey, Counter] = {}  # type: ignore[type-arg]
    fm = failure_matches
    for raw_id, expected in items:
        fid = _parse_id(raw_id)
        query = select(fm).where(fm.c.id == fid)
        if tenant_scope is not None:
            query = query.where(fm.c.tenant_id == tenant_scope)
        row = conn.execute(query.with_for_update()).mappings().first()
        if row is None:
            raise FailureNotFound(f"failure {fid} not found")
        from_state = state_of(row["recovery_attempted"], row["recovery_succeeded"])
        if expected is not None and expected != row["version"]:
            raise RecoveryConflict(fid, expected, row["version"], from_state, row["recovered_by"])
        same = (
            from_state == to_state
            and row["recovered_by"] == recovered_by
            and (row["recovery_notes"] or None) == (notes or None)
        )
        if same:
            # Replaying the same mark is harmless: no new version, no history row.
            changes.append(
                RecoveryChange(fid, row["tenant_id"], row["error_code"], row["recovery_mode"],
                               from_state, to_state, row["version"], False)
            )
            continue
        new_version = row["version"] + 1
        result = conn.execute(
            fm.update()
            .where(fm.c.id == fid, fm.c.version == row["version"])
            .values(
                recovery_attempted=True,
                recovery_succeeded=succeeded,
                recovered_at=now,
                recovered_by=recovered_by,
                recovery_notes=notes,
                updated_at=now,
                version=new_version,
            )
        )
        if result.rowcount != 1:
            current = conn.execute(select(fm.c.version, fm.c.recovered_by).where(fm.c.id == fid)).first()
            raise RecoveryConflict(fid, row["version"], current.version if current else -1, "changed",
                                   current.recovered_by if current else None)
        conn.execute(
            recovery_events.insert().values(
                failure_id=fid, tenant_id=row["tenant_id"], from_state=from_state, to_state=to_state,
                actor=recovered_by, notes=notes, source=source, at=now,
            )
        )
        c = deltas.setdefault(rollup_key(row), Counter())
        c["recovery_attempts"] += int(from_state == UNRECOVERED)
        c["recovery_successes"] += int(to_state == RECOVERED) - int(from_state == RECOVERED)
        changes.append(
            RecoveryChange(fid, row["tenant_id"], row["error_code"], row["recovery_mode"],
                           from_state, to_state, new_version, True)
        )
    apply_rollup_deltas(conn, deltas)
    return changes


def mark_recovery(
    conn: Connection,
    *,
    failure_id: uuid.UUID | str,
    succeeded: bool,
    recovered_by: str,
    notes: str | None = None,
    expected_version: int | None = None,
    tenant_scope: str | None = None,
    source: str = "api",
) -> RecoveryChange:
    """Mark one failure's recovery; see mark_recoveries."""
    return mark_recoveries(
        conn, items=[(failure_id, expected_version)], succeeded=succeeded, recovered_by=recovered_by,
        notes=notes, tenant_scope=tenant_scope, source=source,
    )[0]


def count_recovery_changes(metrics: FailcatMetrics, changes: Iterable[RecoveryChange]) -> None:
    """Count committed changes in recovery_success_total / recovery_failure_total."""
    for ch in changes:
        if ch.changed:
            metrics.count_recovery(
                recovery_mode=ch.recovery_mode, error_code=ch.error_code, succeeded=ch.to_state == RECOVERED
            )
