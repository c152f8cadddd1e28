"""make_engine(autocommit=True), the dashboard's read engine: no transaction around its statements; the default
engine keeps begin() transactional (both engines)."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from core.db import make_engine
from core.schema import feature_flags
from queries.flags import CATALOG_FLAG


def _now(conn):
    return conn.execute(select(func.current_timestamp())).scalar_one()


def test_read_engine_runs_each_statement_alone(engine, db_url):
    reader = make_engine(db_url, autocommit=True)
    try:
        with reader.connect() as conn:
            first = _now(conn)
            time.sleep(0.01)
            second = _now(conn)
        # CURRENT_TIMESTAMP is the transaction's start on PostgreSQL: it moves only when each statement is its own
        # transaction. SQLite's is the statement's own time either way, so only the write below tells there.
        if engine.dialect.name == "postgresql":
            assert second > first
            with engine.connect() as conn:
                assert _now(conn) == _now(conn)  # the default engine holds one transaction per checkout
        with reader.connect() as conn:
            conn.execute(feature_flags.update().where(feature_flags.c.name == CATALOG_FLAG).values(enabled=False))
            # no commit: with autocommit the change is already stored
        with engine.connect() as conn:
            assert conn.execute(select(feature_flags.c.enabled).where(feature_flags.c.name == CATALOG_FLAG)
                                ).scalar_one() is False
    finally:
        reader.dispose()


def test_default_engine_rolls_back_a_failed_transaction(engine):
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(feature_flags.update().where(feature_flags.c.name == CATALOG_FLAG).values(enabled=False))
        raise RuntimeError("boom")
    with engine.connect() as conn:
        assert conn.execute(select(feature_flags.c.enabled).where(feature_flags.c.name == CATALOG_FLAG)
                            ).scalar_one() is True
