"""Keep `failure_rollups` (hourly counts) in step with inserts and recovery changes."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from core.schema import failure_rollups

KEY_COLUMNS = ("tenant_id", "bucket", "error_code", "category", "severity", "recovery_mode", "matched")
COUNT_COLUMNS = ("failures", "recovery_attempts", "recovery_successes")

RollupKey = tuple[str, datetime, str, str, str, str, bool]


def rollup_conditions(
    *, tenant: str | None, start: datetime | None = None, end: datetime | None = None
) -> list[ColumnElement[bool]]:
    """Conditions on failure_rollups for one tenant (None = all) and a [start, end) bucket range."""
    cond: list[ColumnElement[bool]] = []
    if start is not None:
        cond.append(failure_rollups.c.bucket >= start)
    if end is not None:
        cond.append(failure_rollups.c.bucket < end)
    if tenant:
        cond.append(failure_rollups.c.tenant_id == tenant)
    return cond


def hour_bucket(ts: datetime) -> datetime:
    """Truncate a timestamp to its UTC hour."""
    return ts.replace(minute=0, second=0, microsecond=0)


def rollup_key(row: Mapping) -> RollupKey:  # type: ignore[type-arg]
    """The rollup key of one failure row (mapping with failure_matches columns)."""
    return (
        row["tenant_id"],
        hour_bucket(row["created_at"]),
        row["error_code"],
        row["category"] or "",
        row["severity"] or "",
        row["recovery_mode"] or "",
        row["catalog_entry_id"] is not None,
    )


def apply_rollup_deltas(conn: Connection, deltas: Mapping[RollupKey, Counter]) -> None:  # type: ignore[type-arg]
    """Add count deltas to rollup rows, creating them when absent (one upsert per key batch)."""
    rows = []
    for key, counts in deltas.items():
        if not any(counts.values()):
            continue
        row = dict(zip(KEY_COLUMNS, key, strict=True))
        row.update({c: int(counts.get(c, 0)) for c in COUNT_COLUMNS})
        rows.append(row)
    if not rows:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(failure_rollups)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={c: getattr(failure_rollups.c, c) + getattr(stmt.excluded, c) for c in COUNT_COLUMNS},
    ).returning(failure_rollups.c.failures)  # RETURNING lets SQLAlchemy batch rows into one multi-row upsert
    # Sorted keys give every writer the same lock order, so concurrent batches cannot deadlock.
    rows.sort(key=lambda r: (r["tenant_id"], r["bucket"], r["error_code"], r["category"], r["severity"],
                             r["recovery_mode"], r["matched"]))
    conn.execute(stmt, rows).all()


def deltas_for_inserts(rows: Iterable[Mapping]) -> dict[RollupKey, Counter]:  # type: ignore[type-arg]
    """Rollup deltas for newly inserted failure rows."""
    deltas: dict[RollupKey, Counter] = {}  # type: ignore[type-arg]
    for row in rows:
        c = deltas.setdefault(rollup_key(row), Counter())
        c["failures"] += 1
        if row.get("recovery_attempted"):
            c["recovery_attempts"] += 1
        if row.get("recovery_succeeded"):
            c["recovery_successes"] += 1
    return deltas
