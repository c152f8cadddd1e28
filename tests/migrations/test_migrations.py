"""Alembic history on empty SQLite and PostgreSQL databases: every table, NOT NULL tenants, round trips,
and no drift between the migrations and core/schema.py."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from core.schema import PG_PRIMARY_KEY, failure_matches, failure_rollups, metadata, recovery_events
from loaders.migrate import alembic_config, upgrade_schema
from queries.failures.partitions import ensure_partitions
from tests.support.databases import empty_database

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path) -> Iterator[Engine]:
    """A brand-new empty database (no tables at all) of each kind, removed afterwards."""
    with empty_database(request.param, tmp_path, "failcat_mig") as eng:
        yield eng


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _diff(engine: Engine) -> list:  # type: ignore[type-arg]
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        return compare_metadata(ctx, metadata)


def test_upgrade_head_creates_every_table(empty_engine):
    assert _tables(empty_engine) == set()
    upgrade_schema(empty_engine)
    assert _tables(empty_engine) == set(metadata.tables) | {"alembic_version"}
    with empty_engine.connect() as conn:
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("failure_matches")}
    assert {ix.name for ix in failure_matches.indexes} <= indexes


def test_schema_from_migrations_matches_metadata(empty_engine):
    upgrade_schema(empty_engine)
    assert _diff(empty_engine) == []


def test_primary_keys_match_metadata(empty_engine):
    """Alembic's comparison leaves primary keys out; every table's key is checked here. The one documented
    difference: failure_matches is partitioned on PostgreSQL, where its key must contain created_at."""
    upgrade_schema(empty_engine)
    pg = empty_engine.dialect.name == "postgresql"
    with empty_engine.connect() as conn:
        insp = inspect(conn)
        for table in metadata.sorted_tables:
            expected = tuple(c.name for c in table.primary_key.columns)
            if pg and table.name == "failure_matches":
                expected = PG_PRIMARY_KEY
            assert tuple(insp.get_pk_constraint(table.name)["constrained_columns"]) == expected, table.name


@pytest.mark.parametrize("table", ["failure_matches", "recovery_events", "failure_rollups"])
def test_tenant_id_not_null_is_enforced(empty_engine, table):
    upgrade_schema(empty_engine)
    with empty_engine.connect() as conn:
        column = {c["name"]: c for c in inspect(conn).get_columns(table)}["tenant_id"]
    assert column["nullable"] is False
    rows = {
        "failure_matches": (failure_matches, dict(
            id=uuid.uuid4(), run_id="r", tenant_id=None, error_code="X", error_message="m", signature="s",
            match_type="none", created_at=NOW, updated_at=NOW)),
        "recovery_events": (recovery_events, dict(
            failure_id=uuid.uuid4(), tenant_id=None, from_state="unrecovered", to_state="recovered", actor="a",
            at=NOW)),
        "failure_rollups": (failure_rollups, dict(
            tenant_id=None, bucket=NOW, error_code="X", matched=False, failures=1)),
    }
    tbl, values = rows[table]
    with empty_engine.begin() as conn:
        ensure_partitions(conn, NOW, NOW)  # PostgreSQL: the week of NOW needs its partition (no-op on SQLite)
    with pytest.raises(IntegrityError):
        with empty_engine.begin() as conn:
            conn.execute(tbl.insert().values(**values))
    with empty_engine.begin() as conn:  # the same row with a tenant is accepted
        conn.execute(tbl.insert().values(**dict(values, tenant_id="t1")))


def test_downgrade_to_base_and_upgrade_again(empty_engine):
    upgrade_schema(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(failure_rollups.insert().values(tenant_id="t", bucket=NOW, error_code="X", matched=True))
    _downgrade(empty_engine, "base")
    assert _tables(empty_engine) <= {"alembic_version"}
    upgrade_schema(empty_engine)
    assert _tables(empty_engine) == set(metadata.tables) | {"alembic_version"}
    assert _diff(empty_engine) == []
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM failure_rollups")).scalar_one() == 0
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    from alembic.script import ScriptDirectory

    assert head == ScriptDirectory.from_config(alembic_config()).get_current_head()
