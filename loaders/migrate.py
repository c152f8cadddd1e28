"""Bring a database to the current schema, load the shipped catalog and default feature flags."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select
from sqlalchemy.engine import Engine

from core.db import refresh_statistics
from core.schema import feature_flags
from core.settings import ROOT
from core.types import utcnow

DEFAULT_FLAGS = {"failure_catalog_m9": True}


def alembic_config() -> Config:
    """Alembic configuration pointing at migrations/ regardless of the working directory."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return cfg


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to `revision` on `engine`."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_default_flags(engine: Engine) -> None:
    """Insert default feature flags that do not exist yet (never flips an existing flag)."""
    with engine.begin() as conn:
        existing = set(conn.execute(select(feature_flags.c.name)).scalars())
        for name, enabled in DEFAULT_FLAGS.items():
            if name not in existing:
                conn.execute(
                    feature_flags.insert().values(
                        name=name, enabled=enabled, updated_by="migrate", updated_at=utcnow()
                    )
                )


def migrate(engine: Engine, *, catalog_path: Path | None = None) -> dict[str, int]:
    """Upgrade the schema, load the catalog file and default flags; return catalog load counts."""
    from loaders.catalog.file import load_catalog_into_db

    upgrade_schema(engine)
    ensure_default_flags(engine)
    loaded = load_catalog_into_db(engine, catalog_path)
    refresh_statistics(engine)
    return loaded
