"""Cached loaders shared by several pages (tenants, feature flag). Page loaders live beside them."""
from __future__ import annotations

from dashboard.cache import cached_loader
from dashboard.db import connect
from queries.flags import CATALOG_FLAG, is_enabled
from queries.tenants import list_tenants


@cached_loader()
def load_tenants(url: str, tenant_scope: str | None) -> list[str]:
    """Tenant ids the scope may see."""
    with connect(url) as conn:
        return list_tenants(conn, tenant_scope=tenant_scope)


@cached_loader(ttl=15)
def load_catalog_flag(url: str) -> bool:
    """Whether the failure_catalog_m9 flag is on."""
    with connect(url) as conn:
        return is_enabled(conn, CATALOG_FLAG)
