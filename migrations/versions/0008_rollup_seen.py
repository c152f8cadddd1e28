"""first_at, last_at and last_message on the hourly, daily and all-tenant rollup levels

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

Explore's grouped view showed each group's first and last failure time and latest message by seeking raw
rows: two index probes per group, the larger part of the page's time for a busy tenant. The rollup rows now
carry them (queries.rollups.seen keeps them in step); the upgrade fills them from the raw rows, the hourly
level first and the coarser levels from it. The latest message is the one of the latest created_at, the
greatest message on a tie.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = ('failure_rollups', 'failure_rollups_daily', 'failure_rollups_all', 'failure_rollups_daily_all')
DIMS = ('error_code', 'category', 'severity', 'recovery_mode', 'matched')

# Each statement: (target, key columns, SELECT of key columns + f, l, m). PostgreSQL keeps the latest message with
# an ordered array_agg; SQLite stores timestamps as fixed-width 26-character text, so the maximum of time || message
# is the latest row's, ties broken by message.
_PG_RAW = (
    "SELECT tenant_id, date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket, "
    "error_code, coalesce(category, '') AS category, coalesce(severity, '') AS severity, "
    "coalesce(recovery_mode, '') AS recovery_mode, catalog_entry_id IS NOT NULL AS matched, min(created_at) AS f, "
    "max(created_at) AS l, (array_agg(error_message ORDER BY created_at DESC, error_message DESC))[1] AS m "
    "FROM failure_matches GROUP BY 1, 2, 3, 4, 5, 6, 7"
)
_SQLITE_RAW = (
    "SELECT tenant_id, substr(created_at, 1, 13) || ':00:00.000000' AS bucket, error_code, "
    "coalesce(category, '') AS category, coalesce(severity, '') AS severity, "
    "coalesce(recovery_mode, '') AS recovery_mode, catalog_entry_id IS NOT NULL AS matched, min(created_at) AS f, "
    "max(created_at) AS l, substr(max(created_at || error_message), 27) AS m "
    "FROM failure_matches GROUP BY 1, 2, 3, 4, 5, 6, 7"
)


def _from_level(source: str, keys: str, bucket: str, pg: bool) -> str:
    latest = ("(array_agg(last_message ORDER BY last_at DESC, last_message DESC))[1]" if pg
              else "substr(max(last_at || last_message), 27)")
    return (f"SELECT {keys.replace('bucket', bucket + ' AS bucket')}, min(first_at) AS f, max(last_at) AS l, "
            f"{latest} AS m FROM {source} WHERE last_at IS NOT NULL GROUP BY {keys.replace('bucket', bucket)}")


def _update(target: str, keys: tuple[str, ...], source_sql: str) -> str:
    match = " AND ".join(f"{target}.{k} = s.{k}" for k in keys)
    return (f"UPDATE {target} SET first_at = s.f, last_at = s.l, last_message = s.m "  # noqa: S608 - constant names
            f"FROM ({source_sql}) AS s WHERE {match}")


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column('first_at', core.types.UTCDateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column('last_at', core.types.UTCDateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column('last_message', sa.Text(), nullable=True))
    pg = op.get_bind().dialect.name == "postgresql"
    day = ("date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'" if pg
           else "substr(bucket, 1, 10) || ' 00:00:00.000000'")
    tenant_keys = ('tenant_id', 'bucket', *DIMS)
    all_keys = ('bucket', *DIMS)
    op.execute(_update('failure_rollups', tenant_keys, _PG_RAW if pg else _SQLITE_RAW))
    op.execute(_update('failure_rollups_daily', tenant_keys,
                       _from_level('failure_rollups', ', '.join(tenant_keys), day, pg)))
    op.execute(_update('failure_rollups_all', all_keys, _from_level('failure_rollups', ', '.join(all_keys), 'bucket', pg)))
    op.execute(_update('failure_rollups_daily_all', all_keys,
                       _from_level('failure_rollups_daily', ', '.join(all_keys), 'bucket', pg)))


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column('last_message')
            batch_op.drop_column('last_at')
            batch_op.drop_column('first_at')
