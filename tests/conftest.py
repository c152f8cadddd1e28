"""Shared fixtures: a real PostgreSQL database and a SQLite file, migrated once per session.

`engine` is parametrised over both engines, so every test that uses it runs on each. Data tables are
emptied after each test; the catalog is reset to the shipped file.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete
from sqlalchemy.engine import Engine

from core.db import create_database, drop_database, make_engine
from core.metrics import FailcatMetrics
from core.schema import DATA_TABLES, catalog_entries, feature_flags, metadata
from core.settings import get_settings
from loaders.migrate import migrate

pytest_plugins = ["tests.support.s3"]  # moto S3 server fixtures, started only by the tests that ask

PG_ADMIN_URL = os.environ.get("FAILCAT_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own spool and fallback folders and freshly read settings."""
    monkeypatch.setenv("SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("EXPORT_FALLBACK_DIR", str(tmp_path / "fallback"))
    for var in ("PROMETHEUS_URL", "PUSHGATEWAY_URL", "R2_ENDPOINT_URL", "R2_BUCKET"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def long_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    """RETENTION_DAYS of ten years, so a test may ingest events older than the default 90 days."""
    monkeypatch.setenv("RETENTION_DAYS", "3650")
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh, migrated PostgreSQL database for this test session (dropped afterwards)."""
    name = f"failcat_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        create_database(admin, name)
    except Exception as exc:  # a missing PostgreSQL must fail the run, never skip it
        pytest.fail(f"PostgreSQL needed for the tests is not reachable at {PG_ADMIN_URL}: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    drop_database(admin, name)
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of a migrated SQLite file for this test session."""
    path = tmp_path_factory.mktemp("sqlite") / "failcat.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


_engines: dict[str, Engine] = {}


def reset_database(engine: Engine) -> None:
    """Empty the data tables, drop promoted catalog entries and restore default flags."""
    from loaders.catalog.file import load_catalog_into_db
    from loaders.migrate import DEFAULT_FLAGS

    with engine.begin() as conn:
        for name in DATA_TABLES:
            conn.execute(delete(metadata.tables[name]))
        conn.execute(delete(catalog_entries).where(catalog_entries.c.created_by != "catalog"))
        for flag, enabled in DEFAULT_FLAGS.items():
            conn.execute(feature_flags.update().where(feature_flags.c.name == flag).values(enabled=enabled))
    load_catalog_into_db(engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The database URL of the engine under test (both engines, one after the other)."""
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")


@pytest.fixture
def engine(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated engine with empty data tables; DATABASE_URL points at it for code that reads settings."""
    if db_url not in _engines:
        _engines[db_url] = make_engine(db_url)
    eng = _engines[db_url]
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield eng
    reset_database(eng)


@pytest.fixture
def pg_engine(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """PostgreSQL only (EXPLAIN tests, concurrency)."""
    if pg_url not in _engines:
        _engines[pg_url] = make_engine(pg_url)
    eng = _engines[pg_url]
    monkeypatch.setenv("DATABASE_URL", pg_url)
    get_settings.cache_clear()
    yield eng
    reset_database(eng)


@pytest.fixture
def metrics() -> FailcatMetrics:
    """A metrics object on a fresh registry."""
    return FailcatMetrics()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for eng in _engines.values():
        eng.dispose()
