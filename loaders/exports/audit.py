"""The export audit trail (failure_pattern_exports): rows, atomic retry claims and reads."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from core.schema import failure_pattern_exports as fpe
from core.types import utcnow

UPLOADED = "uploaded"
FALLBACK_LOCAL = "fallback_local"
RETRYING = "retrying"
FAILED = "failed"
STATUSES = (UPLOADED, FALLBACK_LOCAL, RETRYING, FAILED)
PENDING = (FALLBACK_LOCAL, RETRYING)
MAX_NOTES = 2000

COLUMNS = ["id", "status", "s3_key", "local_path", "tenant_id", "size_bytes", "sha256", "retry_count",
           "last_retry_at", "uploaded_at", "uploader", "notes", "created_at"]


def _notes(text: str | None) -> str | None:
    return None if text is None else text[:MAX_NOTES]


def insert_export(conn: Connection, *, status: str, uploader: str, size_bytes: int, sha256: str,
                  s3_key: str | None = None, local_path: str | None = None, tenant_id: str | None = None,
                  uploaded_at: datetime | None = None, notes: str | None = None,
                  created_at: datetime | None = None) -> int:
    """Add one audit row and return its id."""
    if status not in STATUSES:
        raise ValueError(f"unknown export status {status!r}")
    result = conn.execute(insert(fpe).values(
        status=status, uploader=uploader[:128], size_bytes=size_bytes, sha256=sha256, s3_key=s3_key,
        local_path=local_path, tenant_id=tenant_id, uploaded_at=uploaded_at, notes=_notes(notes),
        retry_count=0, created_at=created_at or utcnow(),
    ))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def get_exports(conn: Connection, *, status: str | None = None, tenant_id: str | None = None,
                limit: int = 200) -> pd.DataFrame:
    """Audit rows, newest first; columns as COLUMNS (UTC datetimes)."""
    q = select(*[fpe.c[c] for c in COLUMNS]).order_by(fpe.c.created_at.desc(), fpe.c.id.desc())
    if status:
        q = q.where(fpe.c.status == status)
    if tenant_id:
        q = q.where(fpe.c.tenant_id == tenant_id)
    rows = conn.execute(q.limit(max(1, min(int(limit), 10_000)))).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=COLUMNS)
    for col in ("last_retry_at", "uploaded_at", "created_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def get_export(conn: Connection, export_id: int) -> dict[str, Any] | None:
    """One audit row as a dict, or None."""
    row = conn.execute(select(fpe).where(fpe.c.id == export_id)).mappings().first()
    return dict(row) if row else None


def get_export_by_key(conn: Connection, key: str) -> dict[str, Any] | None:
    """The latest audit row for an object key, or None."""
    row = conn.execute(select(fpe).where(fpe.c.s3_key == key).order_by(fpe.c.id.desc())).mappings().first()
    return dict(row) if row else None


def known_local_paths(conn: Connection, paths: list[str]) -> set[str]:
    """Which of these local paths already have an audit row."""
    if not paths:
        return set()
    return {r[0] for r in conn.execute(select(fpe.c.local_path).where(fpe.c.local_path.in_(paths)))}


def count_pending(conn: Connection) -> int:
    """Exports stored locally and not yet uploaded (fallback_local or retrying)."""
    return int(conn.execute(select(func.count()).select_from(fpe).where(fpe.c.status.in_(PENDING))).scalar() or 0)


def _claimable(stale_before: datetime, include_failed: bool) -> Any:
    cond = [fpe.c.status == FALLBACK_LOCAL,
            and_(fpe.c.status == RETRYING, or_(fpe.c.last_retry_at.is_(None), fpe.c.last_retry_at < stale_before))]
    if include_failed:
        cond.append(fpe.c.status == FAILED)
    return or_(*cond)


def claimable_ids(conn: Connection, *, stale_before: datetime, include_failed: bool = False,
                  ids: list[int] | None = None, limit: int = 100) -> list[int]:
    """Ids of exports a retry worker may claim (oldest first): fallbacks and stale `retrying` rows."""
    q = select(fpe.c.id).where(_claimable(stale_before, include_failed)).order_by(fpe.c.created_at, fpe.c.id)
    if ids is not None:
        q = q.where(fpe.c.id.in_(ids))
    return [int(r[0]) for r in conn.execute(q.limit(limit)).all()]


def claim_for_retry(conn: Connection, export_id: int, *, now: datetime, stale_before: datetime,
                    include_failed: bool = False) -> int | None:
    """Atomically mark one export `retrying` (retry_count + 1, last_retry_at = now).

    Returns the new retry_count when this caller won the claim, None when another worker holds it or
    it is no longer pending. The conditional UPDATE is the lock: exactly one concurrent caller sees rowcount 1.
    """
    result = conn.execute(
        update(fpe)
        .where(fpe.c.id == export_id, _claimable(stale_before, include_failed))
        .values(status=RETRYING, retry_count=fpe.c.retry_count + 1, last_retry_at=now)
    )
    if result.rowcount != 1:
        return None
    return int(conn.execute(select(fpe.c.retry_count).where(fpe.c.id == export_id)).scalar_one())


def _owned(export_id: int, retry_count: int) -> Any:
    # Fencing: only the worker holding this claim (same retry_count, still retrying) may finish it.
    return and_(fpe.c.id == export_id, fpe.c.status == RETRYING, fpe.c.retry_count == retry_count)


def mark_uploaded(conn: Connection, export_id: int, *, retry_count: int, s3_key: str, uploaded_at: datetime,
                  local_path: str | None, notes: str | None) -> bool:
    """Finish a claimed retry as uploaded with its final key; False when the claim was lost."""
    result = conn.execute(update(fpe).where(_owned(export_id, retry_count)).values(
        status=UPLOADED, s3_key=s3_key, uploaded_at=uploaded_at, local_path=local_path, notes=_notes(notes)))
    return result.rowcount == 1


def release_retry(conn: Connection, export_id: int, *, retry_count: int, status: str, notes: str | None) -> bool:
    """Finish a claimed retry that did not upload: back to fallback_local, or failed for good."""
    if status not in (FALLBACK_LOCAL, FAILED):
        raise ValueError("a released retry goes back to fallback_local or to failed")
    result = conn.execute(update(fpe).where(_owned(export_id, retry_count)).values(status=status, notes=_notes(notes)))
    return result.rowcount == 1
