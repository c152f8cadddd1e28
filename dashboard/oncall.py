"""On-call glue: cached queue loaders and the recovery mark (by failure id and displayed version)."""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from core.metrics import get_metrics
from core.security import Principal
from dashboard.cache import cached_loader, clear_caches
from dashboard.db import Database, database
from dashboard.text import lit
from queries.failures.oncall import get_unrecovered_queue, get_unrecovered_summary
from queries.failures.recovery import (
    FailureNotFound,
    RecoveryChange,
    RecoveryConflict,
    count_recovery_changes,
    mark_recoveries,
)

QUEUE_LIMIT = 500


@cached_loader()
def load_queue(db: Database, tenant_id: str | None, limit: int = QUEUE_LIMIT) -> pd.DataFrame:
    """The unrecovered queue (see queries.failures.oncall.get_unrecovered_queue)."""
    with db.connect() as conn:
        return get_unrecovered_queue(conn, tenant_id=tenant_id, limit=limit)


@cached_loader()
def load_queue_summary(db: Database, tenant_id: str | None) -> pd.DataFrame:
    """Unrecovered failures per severity."""
    with db.connect() as conn:
        return get_unrecovered_summary(conn, tenant_id=tenant_id)


def short_id(failure_id: str) -> str:
    """The first block of a uuid, enough for people to tell rows apart."""
    return str(failure_id).split("-")[0]


def row_label(row: Mapping) -> str:
    """How one queued failure is named in the selection box."""
    severity = row.get("severity") or "unknown"
    return f"{short_id(row['id'])} · {severity} · {row['error_code']} · {row['tenant_id']}"


@dataclass(frozen=True)
class MarkOutcome:
    """Result of one submitted mark: ok with the changes, or a message saying why nothing changed."""

    ok: bool
    message: str
    changes: tuple[RecoveryChange, ...] = ()


def describe_changes(changes: Sequence[RecoveryChange]) -> str:
    """'Marked 3 failures: 2 unrecovered → recovered, 1 failed → recovered.' (unchanged ones are named too)."""
    moved = Counter((c.from_state, c.to_state) for c in changes if c.changed)
    same = sum(1 for c in changes if not c.changed)
    n = sum(moved.values())
    parts = [f"{k} {a} → {b}" for (a, b), k in sorted(moved.items())]
    text = f"Marked {n} failure{'s' if n != 1 else ''}" + (f": {', '.join(parts)}." if parts else ".")
    if same:
        text += f" {same} already had exactly this mark and were left as they were."
    return text


def mark(
    principal: Principal,
    *,
    items: Sequence[tuple[str, int]],
    succeeded: bool,
    recovered_by: str,
    notes: str | None,
) -> MarkOutcome:
    """Mark the failures (id, version shown) in one transaction; conflicts and bad input become messages."""
    if not principal.can("recover"):
        return MarkOutcome(False, f"Your role ({principal.role}) does not allow you to mark recoveries.")
    if not items:
        return MarkOutcome(False, "Select at least one failure first.")
    if not (recovered_by or "").strip():
        return MarkOutcome(False, "Recovered by is required.")
    try:
        with database().begin() as conn:
            changes = mark_recoveries(
                conn, items=[(uuid.UUID(i), int(v)) for i, v in items], succeeded=succeeded,
                recovered_by=recovered_by.strip(), notes=(notes or "").strip() or None,
                tenant_id=principal.tenant_id, source="dashboard",
            )
    except RecoveryConflict as exc:
        clear_caches(load_queue, load_queue_summary)
        who = f" by {lit(exc.current_by)}" if exc.current_by else ""
        return MarkOutcome(False, (
            f"Nothing was changed: failure {short_id(str(exc.failure_id))} was changed{who} after you loaded "
            f"the queue (it is now {exc.current_state}). The queue has been reloaded; check it and try again."
        ))
    except FailureNotFound as exc:
        clear_caches(load_queue, load_queue_summary)
        return MarkOutcome(False, f"Nothing was changed: {lit(exc)}. The queue has been reloaded.")
    except ValueError as exc:
        return MarkOutcome(False, f"Nothing was changed: {lit(exc)}.")
    count_recovery_changes(get_metrics(), changes)
    # Any page may show these failures or their rollups (overview, explore, detail), so clear them all.
    clear_caches()
    return MarkOutcome(True, describe_changes(changes), tuple(changes))
