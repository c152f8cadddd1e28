"""Weekly range partitions of failure_matches on PostgreSQL (docs/performance.md, "Time partitioning").

Partitions cover [Monday 00:00 UTC, next Monday) and live in their own schema (PARTITION_SCHEMA), so the
public schema shows only the parent table. There is no DEFAULT partition: a row whose week has no partition
is refused, so ingest calls ensure_for_times() before inserting. SQLite keeps a plain table; every function
here is a no-op there.

DDL cannot take bound parameters: it is composed with psycopg2.sql (identifiers quoted, bounds as literals)
and run on the caller's connection (_ddl), never from text formatted here.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg2 import sql
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER, UUID
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateSchema

PARTITION_SCHEMA = "failcat_partitions"
PARENT = "failure_matches"
WEEK = timedelta(days=7)
WEEKS_AHEAD = 4  # created by the migration, retention and `failcat partitions ensure`
_LOCK_NS = 0x46434154  # advisory lock namespace ("FCAT"); key 0 = partition DDL, NS + 1 = id buckets
ID_LOCK_BUCKETS = 128  # at most this many advisory locks per ingest transaction with client ids

_is_partitioned = text(
    "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('failure_matches'))")
_list = text(
    r"""
    SELECT c.oid::regclass::text AS qualified, n.nspname AS schema, c.relname AS name,
           b[1]::timestamptz AS lo, b[2]::timestamptz AS hi, c.reltuples::bigint AS estimated_rows,
           pg_total_relation_size(c.oid) AS bytes
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                    'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') AS b
    WHERE i.inhparent = to_regclass('failure_matches')
    ORDER BY lo
    """
)
# Tables of our schema that are not (or no longer) attached: a retention run stopped between DETACH and DROP.
_detached = text(
    r"""
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = :schema AND c.relkind = 'r' AND NOT c.relispartition
      AND c.relname LIKE 'failure\_matches\_p%'
    ORDER BY c.relname
    """
).bindparams(schema=PARTITION_SCHEMA)
_ddl_lock = text("SELECT pg_advisory_xact_lock(:ns, 0)").bindparams(ns=_LOCK_NS)
_lock_timeout = text("SELECT set_config('lock_timeout', :timeout, true)")  # SET LOCAL, with a bound value
_id_locks = text("SELECT count(pg_advisory_xact_lock(:ns, k)) FROM unnest(:keys) AS k").bindparams(
    bindparam("ns", _LOCK_NS + 1), bindparam("keys", type_=ARRAY(INTEGER)))
_existing_ids = text("SELECT id FROM failure_matches WHERE id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


@dataclass(frozen=True)
class Partition:
    """One attached partition: its relation name and [start, end) range."""

    qualified: str
    name: str
    start: datetime
    end: datetime
    estimated_rows: int
    bytes: int
    schema: str = PARTITION_SCHEMA


def _ddl(conn: Connection, template: str, **parts: sql.Composable) -> tuple[int, tuple | None]:
    """Run DDL (or a statement on a relation named at run time) composed with psycopg2.sql in the caller's
    transaction; returns (rowcount, first row or None)."""
    with conn.connection.dbapi_connection.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(sql.SQL(template).format(**parts))
        return cur.rowcount, cur.fetchone() if cur.description else None


def week_start(ts: datetime) -> datetime:
    """Monday 00:00 UTC of the week holding `ts` (a timezone-aware datetime)."""
    day = ts.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def weeks_between(start: datetime, end: datetime) -> list[datetime]:
    """Week starts of every week that holds an instant of [start, end]."""
    out, week = [], week_start(start)
    while week <= end:
        out.append(week)
        week += WEEK
    return out


def partition_name(week: datetime) -> str:
    """Name of the partition for the week starting at `week` (failure_matches_pYYYYMMDD)."""
    return f"{PARENT}_p{week:%Y%m%d}"


def is_partitioned(conn: Connection) -> bool:
    """True when failure_matches is a partitioned table (PostgreSQL after migration 0004)."""
    return conn.dialect.name == "postgresql" and bool(conn.execute(_is_partitioned).scalar())


def list_partitions(conn: Connection) -> list[Partition]:
    """Attached range partitions of failure_matches, oldest first (empty when not partitioned)."""
    if not is_partitioned(conn):
        return []
    return [Partition(r.qualified, r.name, r.lo.astimezone(UTC), r.hi.astimezone(UTC), max(r.estimated_rows, 0),
                      r.bytes, r.schema) for r in conn.execute(_list)]


def ensure_partitions(conn: Connection, start: datetime, end: datetime) -> list[str]:
    """Create the weekly partitions covering [start, end] that do not exist yet; return their names.

    Runs in the caller's transaction; an advisory lock serialises concurrent callers. A partition is
    created as a plain table and then ATTACHed, which locks the parent only in SHARE UPDATE EXCLUSIVE
    mode (CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE and queue behind every reader).
    """
    if not is_partitioned(conn):
        return []
    conn.execute(_ddl_lock)
    existing = {p.start for p in list_partitions(conn)}
    created = []
    parent = sql.Identifier(PARENT)
    conn.execute(CreateSchema(PARTITION_SCHEMA, if_not_exists=True))
    for week in weeks_between(start, end):
        if week in existing:
            continue
        name = sql.Identifier(PARTITION_SCHEMA, partition_name(week))
        lo, hi = (sql.Literal(f"{day:%Y-%m-%d} 00:00:00+00") for day in (week, week + WEEK))
        # IF NOT EXISTS: a table left detached by an interrupted retention run is attached again.
        _ddl(conn, "CREATE TABLE IF NOT EXISTS {name} (LIKE {parent} INCLUDING DEFAULTS INCLUDING STORAGE)",
             name=name, parent=parent)
        _ddl(conn, "ALTER TABLE {parent} ATTACH PARTITION {name} FOR VALUES FROM ({lo}) TO ({hi})",
             parent=parent, name=name, lo=lo, hi=hi)
        created.append(f"{PARTITION_SCHEMA}.{partition_name(week)}")
    return created


# Per database URL: the week starts known to have a partition (None = the table is not partitioned).
_known: dict[str, set[datetime] | None] = {}
_known_lock = threading.Lock()


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def forget_known(engine: Engine) -> None:
    """Drop this process's cache of existing partitions for `engine` (after DDL elsewhere)."""
    with _known_lock:
        _known.pop(_key(engine), None)


def ensure_for_times(engine: Engine, times: Iterable[datetime]) -> None:
    """Make sure a partition exists for every instant in `times`; costs nothing when all are cached."""
    if engine.dialect.name != "postgresql":
        return
    ensure_weeks(engine, weeks_of(times))


def weeks_of(times: Iterable[datetime]) -> set[datetime]:
    """The week starts (Monday 00:00 UTC) of the instants in `times`."""
    return {week_start(t) for t in times}


def ensure_weeks(engine: Engine, wanted: set[datetime]) -> None:
    """Make sure a partition exists for every week start in `wanted`; costs nothing when all are cached."""
    if engine.dialect.name != "postgresql":
        return
    key = _key(engine)
    with _known_lock:
        known = _known.get(key, set())
        if key in _known and (known is None or wanted <= known):
            return
    with engine.begin() as conn:
        if not is_partitioned(conn):
            found: set[datetime] | None = None
        else:
            found = {p.start for p in list_partitions(conn)}
            if not wanted <= found:
                for week in sorted(wanted - found):
                    ensure_partitions(conn, week, week)
                found = {p.start for p in list_partitions(conn)}
    with _known_lock:
        _known[key] = found


def is_missing_partition(exc: BaseException) -> bool:
    """True for PostgreSQL's "no partition of relation ... found for row" (a week without a partition)."""
    orig = getattr(exc, "orig", None)
    return isinstance(exc, DBAPIError) and getattr(orig, "pgcode", None) == "23514" and "no partition" in str(orig)


def lock_and_find_ids(conn: Connection, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Ids of `ids` already stored, checked under advisory locks held until the caller commits.

    The primary key is (id, created_at), so ON CONFLICT alone would store an id again when it comes back
    with another occurred_at. Locking the ids' buckets (sorted, so concurrent callers cannot deadlock)
    before the look-up makes check-then-insert race-free against another transaction storing the same id.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    keys = sorted({u.int % ID_LOCK_BUCKETS for u in wanted})
    conn.execute(_id_locks, {"keys": keys})
    return {u if isinstance(u, uuid.UUID) else uuid.UUID(str(u)) for u in
            conn.execute(_existing_ids, {"ids": wanted}).scalars()}


def detach_expired(engine: Engine, cutoff: datetime, *, lock_timeout_ms: int = 10_000) -> list[str]:
    """DETACH every partition whose whole range is before `cutoff` (one short transaction each)."""
    with engine.connect() as conn:
        expired = [p for p in list_partitions(conn) if p.end <= cutoff]
    for part in expired:
        with engine.begin() as conn:
            # DETACH needs ACCESS EXCLUSIVE on the parent for an instant; never queue behind a long reader
            # for more than lock_timeout (the run fails with a clear error and can be repeated).
            conn.execute(_lock_timeout, {"timeout": f"{int(lock_timeout_ms)}ms"})
            conn.execute(_ddl_lock)
            _ddl(conn, "ALTER TABLE {parent} DETACH PARTITION {name}", parent=sql.Identifier(PARENT),
                 name=sql.Identifier(part.schema, part.name))
    forget_known(engine)
    return [p.qualified for p in expired]


def drop_detached(engine: Engine) -> tuple[int, int]:
    """Drop detached partitions with their recovery history; return (failures, recovery_events) removed."""
    failures = events = 0
    with engine.connect() as conn:
        tables = list(conn.execute(_detached).scalars()) if conn.dialect.name == "postgresql" else []
    for table in tables:
        with engine.begin() as conn:
            conn.execute(_ddl_lock)  # an ensure_partitions call may have attached it again meanwhile
            if table not in conn.execute(_detached).scalars().all():
                continue
            name = sql.Identifier(PARTITION_SCHEMA, table)
            failures += int(_ddl(conn, "SELECT count(*) FROM {name}", name=name)[1][0])  # type: ignore[index]
            events += _ddl(conn, "DELETE FROM recovery_events WHERE failure_id IN (SELECT id FROM {name})",
                           name=name)[0]
            _ddl(conn, "DROP TABLE {name}", name=name)
    return failures, events


def ensure_ahead(engine: Engine, *, weeks: int = WEEKS_AHEAD, now: datetime | None = None) -> list[str]:
    """Create the partitions of this week and the next `weeks` weeks (operators' cron, retention)."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        created = ensure_partitions(conn, now, now + weeks * WEEK)
    return created


def maintain_partitions(engine: Engine, cutoff: datetime) -> tuple[int, int]:
    """Drop whole weeks before `cutoff` and create the next weeks; return (failures, recovery_events) removed.

    Rows are counted after DETACH, when no insert can reach them any more, so the counts are exact.
    """
    if engine.dialect.name != "postgresql":
        return 0, 0
    with engine.connect() as conn:
        if not is_partitioned(conn):
            return 0, 0
    detach_expired(engine, cutoff)
    removed = drop_detached(engine)
    ensure_ahead(engine)
    return removed
