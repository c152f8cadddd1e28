"""Failure detail: its catalog entry, and other failures of the same run or with the same signature."""
from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from core.schema import catalog_entries as ce
from core.schema import failure_matches as fm

RELATED_COLUMNS = ["id", "created_at", "error_code", "category", "severity", "skill_id", "step_index",
                   "error_message", "recovery_attempted", "recovery_succeeded"]


def get_catalog_entry(conn: Connection, *, entry_id: int | None, code: str | None = None) -> dict[str, Any] | None:
    """The catalog entry by id (or by code when no id): all columns as a dict, or None."""
    if entry_id is not None:
        cond = ce.c.id == int(entry_id)
    elif code:
        cond = ce.c.code == code
    else:
        return None
    row = conn.execute(select(ce).where(cond)).mappings().first()
    return dict(row) if row else None


def _related(conn: Connection, cond: Any, *, tenant_id: str, exclude_id: str, limit: int) -> pd.DataFrame:
    query = (
        select(*[fm.c[c] for c in RELATED_COLUMNS])
        .where(cond, fm.c.tenant_id == tenant_id, fm.c.id != uuid.UUID(str(exclude_id)))
        .order_by(fm.c.created_at.desc(), fm.c.id.desc())
        .limit(limit)
    )
    df = pd.DataFrame([dict(r) for r in conn.execute(query).mappings().all()], columns=RELATED_COLUMNS)
    df["id"] = df["id"].astype(str)
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df


def get_same_run(conn: Connection, *, tenant_id: str, run_id: str, exclude_id: Any, limit: int = 50) -> pd.DataFrame:
    """Other failures of one run in one tenant, newest first: RELATED_COLUMNS (uses ix_fm_tenant_run)."""
    return _related(conn, fm.c.run_id == run_id, tenant_id=tenant_id, exclude_id=exclude_id, limit=limit)


def get_same_signature(conn: Connection, *, tenant_id: str, signature: str, exclude_id: Any,
                       limit: int = 50) -> pd.DataFrame:
    """Other failures with the same message signature in one tenant, newest first: RELATED_COLUMNS."""
    return _related(conn, fm.c.signature == signature, tenant_id=tenant_id, exclude_id=exclude_id, limit=limit)


def count_same_signature(conn: Connection, *, tenant_id: str, signature: str) -> int:
    """How many failures of one tenant share the signature (including the one shown)."""
    return int(conn.execute(
        select(func.count()).select_from(fm).where(fm.c.tenant_id == tenant_id, fm.c.signature == signature)
    ).scalar_one())
