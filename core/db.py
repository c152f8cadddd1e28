"""Engine construction and friendly database errors for both PostgreSQL and SQLite."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or the URL is wrong; the message is one line for humans."""


def normalise_url(url: str) -> str:
    """Map plain `postgresql://` / `postgres://` URLs onto the psycopg2 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


# A serving SQLite (docs/runbook.md, "The embedded SQLite database"): readers never block the writer (WAL); a commit is
# durable at the next checkpoint, not at each fsync (NORMAL: an OS crash may lose the last commits, never
# corrupts); 64 MiB of page cache and 256 MiB of memory-mapped reads per connection; sorts in memory.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA cache_size=-65536",
    "PRAGMA mmap_size=268435456",
    "PRAGMA temp_store=MEMORY",
)
# SQLite keeps no statistics by itself; without them a query by run id walks a tenant's rows instead of using
# the run index. ANALYZE with a sampling limit takes milliseconds at any size.
STATS_EVERY_ROWS = 20_000
_written_since_stats: dict[str, int] = {}


def refresh_statistics(engine: Engine) -> None:
    """Refresh SQLite's planner statistics (sampled ANALYZE); PostgreSQL's autovacuum keeps its own."""
    if not is_sqlite(engine):
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    _written_since_stats[str(engine.url)] = 0


def note_rows_written(engine: Engine, rows: int) -> None:
    """Count rows a large write added; statistics are refreshed every STATS_EVERY_ROWS of them (SQLite)."""
    if rows <= 0 or not is_sqlite(engine):
        return
    key = str(engine.url)
    total = _written_since_stats.get(key, 0) + rows
    _written_since_stats[key] = total
    if total >= STATS_EVERY_ROWS:
        refresh_statistics(engine)


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, pool_size: int = 10, autocommit: bool = False) -> Engine:
    """Build an engine for `url`; SQLite gets WAL, foreign keys and a busy timeout.

    `autocommit` makes an engine for reads only: no BEGIN and ROLLBACK round trips around each checkout (a
    dashboard page's load pays ~0.5 ms for them). Each statement then runs alone, which changes nothing a read
    sees: under READ COMMITTED every statement of a transaction takes its own snapshot anyway. `begin()` on
    such an engine does not make its statements one transaction, so writes use an engine without it.
    """
    extra = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"DATABASE_URL is not a valid database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **extra)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            for pragma in SQLITE_PRAGMAS:
                cur.execute(pragma)
            cur.close()

        return engine
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseUnavailable(
            f"unsupported database {parsed.get_backend_name()!r}: use postgresql:// or sqlite:///"
        )
    try:
        return create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_recycle=1800,
            connect_args={"connect_timeout": 5, "application_name": "failcat"},
            **extra,
        )
    except NoSuchModuleError as exc:
        raise DatabaseUnavailable(f"no driver for {url!r}: {exc}") from exc


@lru_cache(maxsize=4)
def _cached_engine(url: str, pool_size: int) -> Engine:
    return make_engine(url, pool_size=pool_size)


def get_engine() -> Engine:
    """Return the process-wide engine for DATABASE_URL (built once)."""
    from core.settings import get_settings

    settings = get_settings()
    return _cached_engine(settings.database_url, settings.db_pool_size)


def describe_db_error(exc: BaseException, url: str | None = None) -> str:
    """Turn a driver exception into one human line without credentials."""
    where = ""
    if url:
        try:
            where = f" ({make_url(normalise_url(url)).render_as_string(hide_password=True)})"
        except ArgumentError:
            where = ""
    if isinstance(exc, DatabaseUnavailable):
        return str(exc)
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if isinstance(exc, OperationalError):
        return f"database unavailable{where}: {first}"
    if isinstance(exc, DBAPIError):
        return f"database error{where}: {first}"
    return f"{type(exc).__name__}: {first}"


def _run_composed(admin: Engine, statement: Any) -> None:
    with admin.connect() as conn:
        raw = conn.connection.dbapi_connection
        conn.exec_driver_sql(statement.as_string(raw))


def create_database(admin: Engine, name: str) -> None:
    """CREATE DATABASE `name` on a PostgreSQL server (admin: an AUTOCOMMIT engine); the name is quoted."""
    from psycopg2 import sql

    _run_composed(admin, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin: Engine, name: str) -> None:
    """DROP DATABASE IF EXISTS `name` WITH (FORCE) on a PostgreSQL server (admin: an AUTOCOMMIT engine)."""
    from psycopg2 import sql

    _run_composed(admin, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
