"""What every page needs to know: the tenants a principal may see, and whether the catalog is switched off."""
from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from core.db import DatabaseUnavailable
from dashboard.cache import cached_loader
from dashboard.db import Database
from queries.flags import CATALOG_FLAG, is_enabled
from queries.tenants import list_tenants


@cached_loader()
def load_tenants(db: Database, tenant_id: str | None) -> list[str]:
    """Tenant ids the scope may see."""
    with db.connect() as conn:
        return list_tenants(conn, tenant_id=tenant_id)


@cached_loader(ttl=15)
def load_catalog_flag(db: Database) -> bool:
    """Whether the failure_catalog_m9 flag is on."""
    with db.connect() as conn:
        return is_enabled(conn, CATALOG_FLAG)


def catalog_is_off() -> bool:
    """True when the failure_catalog_m9 flag is off; False too when the database cannot say (each page reports
    an unreachable database itself)."""
    try:
        return not load_catalog_flag()
    except (DatabaseUnavailable, SQLAlchemyError):
        return False
