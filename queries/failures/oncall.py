"""The on-call queue: failures not yet recovered, most severe first, with id and version for marking."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Integer, Select, func, select
from sqlalchemy.engine import Connection

from core.schema import UNRECOVERED
from core.schema import failure_matches as fm
from core.schema import failure_totals as ft
from core.vocabulary import FAILED, severity_rank
from core.vocabulary import UNRECOVERED as NEVER_ATTEMPTED

QUEUE_COLUMNS = [
    "id", "version", "tenant_id", "created_at", "severity", "severity_rank", "error_code", "category",
    "recovery_mode", "state", "recovered_by", "recovery_notes", "error_message", "run_id", "skill_id",
    "recovery_suggestion",
]
DEFAULT_LIMIT = 500


def _conditions(tenant_id: str | None, start: datetime | None, end: datetime | None) -> list:
    # The literal predicate is the partial index's own (ix_fm_unrecovered*), so both engines use it.
    cond: list[Any] = [UNRECOVERED]
    if tenant_id:
        cond.append(fm.c.tenant_id == tenant_id)
    if start is not None:
        cond.append(fm.c.created_at >= start)
    if end is not None:
        cond.append(fm.c.created_at < end)
    return cond


def unrecovered_queue_query(
    *, tenant_id: str | None, start: datetime | None = None, end: datetime | None = None, limit: int = DEFAULT_LIMIT
) -> Select:
    """The SELECT behind get_unrecovered_queue; WHERE and ORDER BY follow the partial index ix_fm_unrecovered."""
    return (
        select(
            fm.c.id, fm.c.version, fm.c.tenant_id, fm.c.created_at, fm.c.severity, fm.c.severity_rank,
            fm.c.error_code, fm.c.category, fm.c.recovery_mode, fm.c.recovery_attempted, fm.c.recovered_by,
            fm.c.recovery_notes, fm.c.error_message, fm.c.run_id, fm.c.skill_id, fm.c.recovery_suggestion,
        )
        .where(*_conditions(tenant_id, start, end))
        .order_by(fm.c.severity_rank, fm.c.created_at.desc(), fm.c.id)
        .limit(max(1, int(limit)))
    )


def get_unrecovered_queue(
    conn: Connection,
    *,
    tenant_id: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> pd.DataFrame:
    """One row per unrecovered failure (recovery_succeeded IS NOT TRUE), severity_rank then newest first.

    Columns: QUEUE_COLUMNS; state is "unrecovered" (never attempted) or "failed" (attempt failed).
    """
    query = unrecovered_queue_query(tenant_id=tenant_id, start=start, end=end, limit=limit)
    rows = conn.execute(query).mappings().all()
    df = pd.DataFrame([dict(r) for r in rows], columns=[*QUEUE_COLUMNS, "recovery_attempted"])
    df["state"] = [FAILED if a else NEVER_ATTEMPTED for a in df["recovery_attempted"]]
    df["id"] = df["id"].astype(str)
    df["version"] = df["version"].astype("int64")
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df[QUEUE_COLUMNS].reset_index(drop=True)


def get_unrecovered_summary(
    conn: Connection,
    *,
    tenant_id: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Unrecovered failures per severity (grain: severity): severity, severity_rank, failures, failed_attempts.

    Without a time range it reads the all-time totals (unrecovered = failures - successes, failed attempts =
    attempts - successes), which stay small however many failures are stored; with one, the raw rows.
    """
    if start is None and end is None:
        return _summary_from_totals(conn, tenant_id)
    query = (
        select(
            fm.c.severity_rank,
            func.max(fm.c.severity).label("severity"),
            func.count().label("failures"),
            func.sum(fm.c.recovery_attempted.cast(Integer)).label("failed_attempts"),
        )
        .where(*_conditions(tenant_id, start, end))
        .group_by(fm.c.severity_rank)
        .order_by(fm.c.severity_rank)
    )
    rows = conn.execute(query).mappings().all()
    return _summary_frame(pd.DataFrame([dict(r) for r in rows],
                                       columns=["severity", "severity_rank", "failures", "failed_attempts"]))


def _summary_from_totals(conn: Connection, tenant_id: str | None) -> pd.DataFrame:
    query = select(ft.c.severity, func.sum(ft.c.failures - ft.c.recovery_successes).label("failures"),
                   func.sum(ft.c.recovery_attempts - ft.c.recovery_successes).label("failed_attempts")
                   ).group_by(ft.c.severity)
    if tenant_id:
        query = query.where(ft.c.tenant_id == tenant_id)
    df = pd.DataFrame([dict(r) for r in conn.execute(query).mappings()],
                      columns=["severity", "failures", "failed_attempts"])
    df = df[df["failures"].fillna(0) > 0]
    df["severity"] = _objects_or_none(df["severity"])
    df["severity_rank"] = [severity_rank(s) for s in df["severity"]]
    # Several severities may share the unknown rank; the raw-row query groups by rank (max of the names).
    df = df.groupby("severity_rank", as_index=False).agg(
        severity=("severity", lambda v: max((x for x in v if x is not None), default=None)),
        failures=("failures", "sum"), failed_attempts=("failed_attempts", "sum"))
    return _summary_frame(df.sort_values("severity_rank")[["severity", "severity_rank", "failures",
                                                           "failed_attempts"]])


def _objects_or_none(values: pd.Series) -> list[str | None]:
    # Rollup levels store a missing severity as ''.
    return [v if v else None for v in values.tolist()]


def _summary_frame(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df["severity"] = df["severity"].fillna("unknown")
    for col in ("severity_rank", "failures", "failed_attempts"):
        df[col] = df[col].fillna(0).astype("int64")
    return df
