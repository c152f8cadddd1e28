"""Feature flags: read and flip (the original guide's immediate rollback switch)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from core.schema import feature_flags
from core.types import utcnow

CATALOG_FLAG = "failure_catalog_m9"


class UnknownFlag(LookupError):
    """No feature flag with that name."""


_ENABLED = select(feature_flags.c.enabled).where(feature_flags.c.name == bindparam("flag_name"))  # every page asks


def is_enabled(conn: Connection, name: str = CATALOG_FLAG) -> bool:
    """True when the flag exists and is on (a missing flag counts as on, matching migrate's default)."""
    value = conn.execute(_ENABLED, {"flag_name": name}).scalar()
    return True if value is None else bool(value)


def get_flags(conn: Connection) -> pd.DataFrame:
    """All flags: name, enabled, updated_by, updated_at (UTC)."""
    rows = conn.execute(select(feature_flags).order_by(feature_flags.c.name)).mappings().all()
    return pd.DataFrame(rows, columns=["name", "enabled", "updated_by", "updated_at"])


def set_flag(conn: Connection, *, name: str, enabled: bool, updated_by: str) -> dict[str, object]:
    """Turn a known flag on or off; returns the new row."""
    now = utcnow()
    result = conn.execute(
        feature_flags.update()
        .where(feature_flags.c.name == name)
        .values(enabled=enabled, updated_by=updated_by, updated_at=now)
    )
    if result.rowcount == 0:
        raise UnknownFlag(f"unknown feature flag {name!r}")
    return {"name": name, "enabled": enabled, "updated_by": updated_by, "updated_at": now}
