"""Tenant names visible to a principal (from the small rollup table, not raw failures)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from core.schema import failure_rollups


def _walk() -> Any:
    # Loose index scan: one probe of ix_fr_tenant_bucket per tenant (next tenant after the last one), not a
    # DISTINCT over every rollup row, which took ~300 ms at 1M failures on every page (docs/performance.md).
    fr = failure_rollups
    walk = select(func.min(fr.c.tenant_id).label("tenant_id")).cte("tenant_walk", recursive=True)
    following = select(fr.c.tenant_id).where(fr.c.tenant_id > walk.c.tenant_id).order_by(fr.c.tenant_id).limit(1)
    walk = walk.union_all(select(following.scalar_subquery()).where(walk.c.tenant_id.is_not(None)))
    return select(walk.c.tenant_id).where(walk.c.tenant_id.is_not(None)).order_by(walk.c.tenant_id)


# Built once: it has no parameters, and building it took longer than running it.
_TENANTS = _walk()


def list_tenants(conn: Connection, *, tenant_id: str | None) -> list[str]:
    """Sorted tenant ids with data; a tenant-scoped principal gets only its own tenant."""
    if tenant_id is not None:
        return [tenant_id]
    return [r[0] for r in conn.execute(_TENANTS)]
