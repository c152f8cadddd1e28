"""weekly range partitions of failure_matches on PostgreSQL (docs/performance.md, "Time partitioning")

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

PostgreSQL only; on SQLite upgrade and downgrade do nothing (a plain table, retention deletes in batches).
The table is rebuilt as a table partitioned by RANGE (created_at), one partition per week (Monday 00:00 UTC)
in the schema failcat_partitions, covering the stored rows and the next weeks. A partitioned table's
primary key must contain the partition key, so it becomes (id, created_at); ingest keeps ids unique
(lock_and_find_ids in the product's partitions module). Every other index and the foreign key are recreated from their
definitions on the old table (pg_get_indexdef), so partial and DESC indexes come back exactly.
Downgrade copies the rows back into a plain table with the primary key (id).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import op
from psycopg2 import sql
from sqlalchemy import text

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

SCHEMA = "failcat_partitions"
WEEKS_AHEAD = 4
WEEK = timedelta(days=7)

# Definitions of the table's secondary indexes and foreign keys, read before the table is renamed.
_INDEXES = text(
    "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE i.indrelid = to_regclass('failure_matches') AND NOT i.indisprimary ORDER BY c.relname")
_FKEYS = text(
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = to_regclass('failure_matches') AND contype = 'f' ORDER BY conname")


def _definitions() -> tuple[list[str], list[tuple[str, str]]]:
    bind = op.get_bind()
    # A partitioned parent's index reads "ON ONLY failure_matches"; the rebuilt table takes the plain form.
    indexes = [d.replace(" ON ONLY ", " ON ") for d in bind.execute(_INDEXES).scalars()]
    fkeys = [(r[0], r[1]) for r in bind.execute(_FKEYS)]
    return indexes, fkeys


def _run(statement: sql.Composable) -> None:
    with op.get_bind().connection.dbapi_connection.cursor() as cur:
        cur.execute(statement)


def _restore(indexes: list[str], fkeys: list[tuple[str, str]], primary_key: str) -> None:
    op.execute(primary_key)
    for name, definition in fkeys:  # definitions as PostgreSQL printed them (pg_get_constraintdef)
        _run(sql.SQL("ALTER TABLE failure_matches ADD CONSTRAINT {} ").format(sql.Identifier(name))
             + sql.SQL(definition))
    for definition in indexes:
        op.execute(definition)
    op.execute("ANALYZE failure_matches")


def _create_weeks(start: datetime, end: datetime) -> None:
    """A partition per week (Monday 00:00 UTC) from start's week through end: created, then attached."""
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    while week <= end:
        name = sql.Identifier(SCHEMA, "failure_matches_p" + week.strftime("%Y%m%d"))
        lo, hi = (sql.Literal(d.strftime("%Y-%m-%d") + " 00:00:00+00") for d in (week, week + WEEK))
        _run(sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE failure_matches INCLUDING DEFAULTS INCLUDING STORAGE)")
             .format(name))
        _run(sql.SQL("ALTER TABLE failure_matches ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})")
             .format(name, lo, hi))
        week += WEEK


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    indexes, fkeys = _definitions()
    op.execute("ALTER TABLE failure_matches RENAME TO failure_matches_unpartitioned")
    op.execute("CREATE TABLE failure_matches (LIKE failure_matches_unpartitioned INCLUDING DEFAULTS "
               "INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (created_at)")
    op.execute("CREATE SCHEMA IF NOT EXISTS failcat_partitions")
    lo, hi, now = bind.execute(text(
        "SELECT min(created_at), max(created_at), now() FROM failure_matches_unpartitioned")).one()
    _create_weeks(min(lo or now, now), max(hi or now, now) + WEEKS_AHEAD * WEEK)
    # Rows first, indexes after: one bulk build per index and partition instead of row-by-row maintenance.
    op.execute("INSERT INTO failure_matches SELECT * FROM failure_matches_unpartitioned")
    op.execute("DROP TABLE failure_matches_unpartitioned")
    _restore(indexes, fkeys, "ALTER TABLE failure_matches ADD CONSTRAINT pk_failure_matches PRIMARY KEY (id, created_at)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    indexes, fkeys = _definitions()
    op.execute("ALTER TABLE failure_matches RENAME TO failure_matches_partitioned")
    op.execute("CREATE TABLE failure_matches (LIKE failure_matches_partitioned INCLUDING DEFAULTS "
               "INCLUDING STORAGE INCLUDING COMMENTS)")
    op.execute("INSERT INTO failure_matches SELECT * FROM failure_matches_partitioned")
    op.execute("DROP TABLE failure_matches_partitioned")  # drops its partitions
    # Fails (and rolls back) if one id was stored twice with different created_at: no row is dropped silently.
    _restore(indexes, fkeys, "ALTER TABLE failure_matches ADD CONSTRAINT pk_failure_matches PRIMARY KEY (id)")
    op.execute("DROP SCHEMA IF EXISTS failcat_partitions CASCADE")  # only partitions left detached by retention
