"""Recovery state changes: version-checked updates, history rows and rollup deltas in one transaction."""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from core.ids import parse_failure_id
from core.metrics import FailcatMetrics
from core.schema import catalog_entries, failure_matches, recovery_events
from core.types import utcnow
from core.vocabulary import FAILED, RECOVERED, UNRECOVERED, recovery_state
from queries.failures.listing import id_lookups, same_partition, within
from queries.rollups.failures import RollupKey, apply_rollup_deltas, rollup_key

LOCK_CHUNK = 500


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
    catalog_code: bool = False  # error_code is a catalog code (metrics label it as itself, else OTHER)


def _locked_rows(conn: Connection, ids: list[uuid.UUID], tenant_id: str | None) -> dict[uuid.UUID, Any]:
    fm = failure_matches
    rows: dict[uuid.UUID, Any] = {}
    for i in range(0, len(ids), LOCK_CHUNK):
        chunk = ids[i:i + LOCK_CHUNK]
        # Narrowed to the created_at the ids name (one partition for one id), then the rest by id alone.
        for bounds in id_lookups(chunk):
            wanted = [fid for fid in chunk if fid not in rows]
            if not wanted:
                break
            # Locks are taken in id order, so two bulk marks on overlapping failures cannot deadlock.
            query = select(fm).where(fm.c.id.in_(wanted), *within(bounds)).order_by(fm.c.id)
            if tenant_id is not None:
                query = query.where(fm.c.tenant_id == tenant_id)
            rows.update((row["id"], row) for row in conn.execute(query.with_for_update()).mappings())
    return rows


def _raise_lost_update(conn: Connection, ids: list[uuid.UUID], now: datetime) -> None:
    fm = failure_matches
    for i in range(0, len(ids), LOCK_CHUNK):
        lost = conn.execute(
            select(fm.c.id, fm.c.version, fm.c.recovered_by)
            .where(fm.c.id.in_(ids[i:i + LOCK_CHUNK]), fm.c.updated_at != now).limit(1)
        ).first()
        if lost is not None:
            raise RecoveryConflict(lost.id, lost.version - 1, lost.version, "changed", lost.recovered_by)
    raise RecoveryConflict(ids[0], -1, -1, "changed", None)


def mark_recoveries(
    conn: Connection,
    *,
    items: Sequence[tuple[uuid.UUID | str, int | None]],
    succeeded: bool,
    recovered_by: str,
    notes: str | None = None,
    tenant_id: str | None = None,
    source: str = "api",
) -> list[RecoveryChange]:
    """Mark failures (id, expected version or None) in the caller's transaction; all or nothing.

    A malformed id raises core.ids.FailureIdError, an unknown one (or another tenant's) FailureNotFound.
    """
    recovered_by = (recovered_by or "").strip()
    if not recovered_by:
        raise ValueError("recovered_by is required")
    to_state = RECOVERED if succeeded else FAILED
    now = utcnow()
    wanted: dict[uuid.UUID, int | None] = {}
    for raw_id, expected in items:
        wanted.setdefault(parse_failure_id(raw_id), expected)
    rows = _locked_rows(conn, sorted(wanted), tenant_id)
    codes = sorted({row["error_code"] for row in rows.values()})
    catalog_codes = set(conn.execute(select(catalog_entries.c.code).where(catalog_entries.c.code.in_(codes)))
                        .scalars()) if codes else set()
    changes: list[RecoveryChange] = []
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    deltas: dict[RollupKey, Counter] = {}
    for fid, expected in wanted.items():
        row = rows.get(fid)
        if row is None:
            raise FailureNotFound(f"failure {fid} not found")
        from_state = recovery_state(row["recovery_attempted"], row["recovery_succeeded"])
        same = (
            from_state == to_state
            and row["recovered_by"] == recovered_by
            and (row["recovery_notes"] or None) == (notes or None)
        )
        # A stale version conflicts, unless the failure already has exactly this mark: a retry of a request that
        # went through, or two people recording the same thing, is harmless.
        if expected is not None and expected != row["version"] and not same:
            raise RecoveryConflict(fid, expected, row["version"], from_state, row["recovered_by"])
        version = row["version"] if same else row["version"] + 1
        changes.append(RecoveryChange(fid, row["tenant_id"], row["error_code"], row["recovery_mode"],
                                      from_state, to_state, version, not same,
                                      row["error_code"] in catalog_codes))
        if same:
            continue  # replaying the same mark is harmless: no new version, no history row
        updates.append({"b_id": fid, "b_created": row["created_at"], "b_version": row["version"],
                        "b_new_version": version})
        history.append({"failure_id": fid, "tenant_id": row["tenant_id"], "from_state": from_state,
                        "to_state": to_state, "actor": recovered_by, "notes": notes, "source": source, "at": now})
        c = deltas.setdefault(rollup_key(row), Counter())
        c["recovery_attempts"] += int(from_state == UNRECOVERED)
        c["recovery_successes"] += int(to_state == RECOVERED) - int(from_state == RECOVERED)
    if not updates:
        return changes
    fm = failure_matches
    result = conn.execute(
        fm.update()
        .where(fm.c.id == bindparam("b_id"), fm.c.version == bindparam("b_version"), *same_partition(conn))
        .values(recovery_attempted=True, recovery_succeeded=succeeded, recovered_at=now,
                recovered_by=recovered_by, recovery_notes=notes, updated_at=now,
                version=bindparam("b_new_version")),
        updates,
    )
    # PostgreSQL holds the FOR UPDATE locks since the read, so the version check above is exact there.
    # SQLite reads outside its write lock: a row changed in between is not updated, which the summed
    # executemany row count shows (psycopg2's would not, hence the dialect check).
    if conn.dialect.supports_sane_multi_rowcount and result.rowcount != len(updates):
        _raise_lost_update(conn, sorted(u["b_id"] for u in updates), now)
    conn.execute(recovery_events.insert(), history)
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
    tenant_id: str | None = None,
    source: str = "api",
) -> RecoveryChange:
    """Mark one failure's recovery; see mark_recoveries."""
    return mark_recoveries(
        conn, items=[(failure_id, expected_version)], succeeded=succeeded, recovered_by=recovered_by,
        notes=notes, tenant_id=tenant_id, source=source,
    )[0]


def count_recovery_changes(metrics: FailcatMetrics, changes: Iterable[RecoveryChange]) -> None:
    """Count committed changes in recovery_success_total / recovery_failure_total."""
    for ch in changes:
        if ch.changed:
            metrics.count_recovery(recovery_mode=ch.recovery_mode, error_code=ch.error_code,
                                   succeeded=ch.to_state == RECOVERED, catalog_code=ch.catalog_code)
