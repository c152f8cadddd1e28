"""Throw-away databases for tests that need a brand-new schema (migrations, partitioning)."""
from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from core.db import create_database, drop_database, make_engine

PG_ADMIN = os.environ.get("FAILCAT_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def empty_database(kind: str, tmp_path: Path, prefix: str) -> Iterator[Engine]:
    """A new empty database ("sqlite" file or "postgresql" database named prefix_<hex>), removed afterwards."""
    if kind == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / f'{prefix}.db'}")
        try:
            yield eng
        finally:
            eng.dispose()
        return
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        create_database(admin, name)
    except Exception as exc:  # PostgreSQL missing fails the run, never skips
        pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN}: {exc}")
    eng = make_engine(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield eng
    finally:
        eng.dispose()
        drop_database(admin, name)
        admin.dispose()
