"""Delete failures for good: the rows, their recovery history, and their share of every rollup and group.

The counterpart of ingest: the deltas ingest added (queries.rollups, queries.groups.store) are taken away again
in the caller's transaction, so every rollup row and group still equals a GROUP BY of the raw rows left. Rows
left empty are deleted; the others get their first and last time and latest message again from what remains.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, select
from sqlalchemy.engine import Connection

from core.ids import parse_failure_id
from core.schema import failure_matches as fm
from core.schema import recovery_events
from queries.groups.store import group_deltas, remove_from_groups
from queries.rollups.failures import RollupKey, apply_rollup_deltas, deltas_for_inserts
from queries.rollups.levels import FAILURES, HOURLY
from queries.rollups.seen import refresh_seen
from queries.rollups.signatures import remove_from_signature_rollups, signature_deltas

# What the rollups, signature rollups and groups are keyed and counted by.
_COLUMNS = (fm.c.id, fm.c.tenant_id, fm.c.created_at, fm.c.error_code, fm.c.error_message, fm.c.category,
            fm.c.severity, fm.c.recovery_mode, fm.c.catalog_entry_id, fm.c.recovery_attempted,
            fm.c.recovery_succeeded, fm.c.signature)


@dataclass(frozen=True)
class Removed:
    """How many failures and recovery history rows were deleted."""

    failures: int = 0
    recovery_events: int = 0


def delete_failures(conn: Connection, ids: Iterable[uuid.UUID | str]) -> Removed:
    """Delete these failures (unknown ids skipped) with their history, rollups, signature rollups and groups."""
    wanted = sorted({parse_failure_id(i) for i in ids})
    if not wanted:
        return Removed()
    rows = [dict(r) for r in conn.execute(select(*_COLUMNS).where(fm.c.id.in_(wanted))).mappings()]
    if not rows:
        return Removed()
    found = [r["id"] for r in rows]
    history = int(conn.execute(delete(recovery_events).where(recovery_events.c.failure_id.in_(found))).rowcount or 0)
    failures = int(conn.execute(delete(fm).where(fm.c.id.in_(found))).rowcount or 0)
    added = deltas_for_inserts(rows)
    apply_rollup_deltas(conn, {key: Counter({c: -n for c, n in counts.items()}) for key, counts in added.items()})
    _drop_empty_rollups(conn, added)
    # The rows that remain may have had their first, last or latest failure among the deleted ones.
    refresh_seen(conn, added)
    remove_from_signature_rollups(conn, signature_deltas(rows, -1))
    remove_from_groups(conn, group_deltas(rows))
    return Removed(failures=failures, recovery_events=history)


def _drop_empty_rollups(conn: Connection, hourly_keys: Iterable[RollupKey]) -> None:
    """Delete the rows of every level above these hourly keys that count no failure any more."""
    keys = list(hourly_keys)
    for level in FAILURES.levels:
        table = level.table
        level_keys = sorted({level.parts_of(k, HOURLY) for k in keys})
        if not level_keys:
            continue
        match = and_(*[table.c[k] == bindparam(f"k_{k}") for k in level.keys])
        params: list[dict[str, Any]] = [{f"k_{k}": v for k, v in zip(level.keys, key, strict=True)}
                                        for key in level_keys]
        conn.execute(delete(table).where(match, table.c.failures <= 0), params)
