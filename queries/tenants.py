"""Tenant names visible to a principal (from the small rollup table, not raw failures)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from core.schema import failure_rollups


def list_tenants(conn: Connection, *, tenant_scope: str | None) -> list[str]:
    """Sorted tenant ids with data; a tenant-scoped principal gets only its own tenant."""
    if tenant_scope is not None:
        return [tenant_scope]
    rows = conn.execute(select(failure_rollups.c.tenant_id).distinct().order_by(failure_rollups.c.tenant_id))
    return [r[0] for r in rows]
