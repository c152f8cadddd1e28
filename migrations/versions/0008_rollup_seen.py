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


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = ('failure_rollups', 'failure_rollups_daily', 'failure_rollups_all', 'failure_rollups_daily_all')

# PostgreSQL keeps the latest message with an ordered array_agg; SQLite stores timestamps as fixed-width
# 26-character text, so the maximum of time || message is the latest row's, ties broken by message.
# The backfill, as it ran when this revision was written (frozen: no code of the project is imported).
BACKFILL = {
    "postgresql": (
        ('UPDATE failure_rollups SET first_at = s.f, last_at = s.l, last_message = s.m FROM (SELECT tenant_id,'
         " date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket, error_code, "
         "coalesce(category, '') AS category, coalesce(severity, '') AS severity, coalesce(recovery_mode, '') "
         'AS recovery_mode, catalog_entry_id IS NOT NULL AS matched, min(created_at) AS f, max(created_at) AS '
         'l, (array_agg(error_message ORDER BY created_at DESC, error_message DESC))[1] AS m FROM '
         'failure_matches GROUP BY 1, 2, 3, 4, 5, 6, 7) AS s WHERE failure_rollups.tenant_id = s.tenant_id AND'
         ' failure_rollups.bucket = s.bucket AND failure_rollups.error_code = s.error_code AND '
         'failure_rollups.category = s.category AND failure_rollups.severity = s.severity AND '
         'failure_rollups.recovery_mode = s.recovery_mode AND failure_rollups.matched = s.matched'),
        ('UPDATE failure_rollups_daily SET first_at = s.f, last_at = s.l, last_message = s.m FROM (SELECT '
         "tenant_id, date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket, error_code, "
         'category, severity, recovery_mode, matched, min(first_at) AS f, max(last_at) AS l, '
         '(array_agg(last_message ORDER BY last_at DESC, last_message DESC))[1] AS m FROM failure_rollups '
         "WHERE last_at IS NOT NULL GROUP BY tenant_id, date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME "
         "ZONE 'UTC', error_code, category, severity, recovery_mode, matched) AS s WHERE "
         'failure_rollups_daily.tenant_id = s.tenant_id AND failure_rollups_daily.bucket = s.bucket AND '
         'failure_rollups_daily.error_code = s.error_code AND failure_rollups_daily.category = s.category AND '
         'failure_rollups_daily.severity = s.severity AND failure_rollups_daily.recovery_mode = '
         's.recovery_mode AND failure_rollups_daily.matched = s.matched'),
        ('UPDATE failure_rollups_all SET first_at = s.f, last_at = s.l, last_message = s.m FROM (SELECT bucket'
         ' AS bucket, error_code, category, severity, recovery_mode, matched, min(first_at) AS f, max(last_at)'
         ' AS l, (array_agg(last_message ORDER BY last_at DESC, last_message DESC))[1] AS m FROM '
         'failure_rollups WHERE last_at IS NOT NULL GROUP BY bucket, error_code, category, severity, '
         'recovery_mode, matched) AS s WHERE failure_rollups_all.bucket = s.bucket AND '
         'failure_rollups_all.error_code = s.error_code AND failure_rollups_all.category = s.category AND '
         'failure_rollups_all.severity = s.severity AND failure_rollups_all.recovery_mode = s.recovery_mode '
         'AND failure_rollups_all.matched = s.matched'),
        ('UPDATE failure_rollups_daily_all SET first_at = s.f, last_at = s.l, last_message = s.m FROM (SELECT '
         'bucket AS bucket, error_code, category, severity, recovery_mode, matched, min(first_at) AS f, '
         'max(last_at) AS l, (array_agg(last_message ORDER BY last_at DESC, last_message DESC))[1] AS m FROM '
         'failure_rollups_daily WHERE last_at IS NOT NULL GROUP BY bucket, error_code, category, severity, '
         'recovery_mode, matched) AS s WHERE failure_rollups_daily_all.bucket = s.bucket AND '
         'failure_rollups_daily_all.error_code = s.error_code AND failure_rollups_daily_all.category = '
         's.category AND failure_rollups_daily_all.severity = s.severity AND '
         'failure_rollups_daily_all.recovery_mode = s.recovery_mode AND failure_rollups_daily_all.matched = '
         's.matched'),
    ),
    "sqlite": (
        ('UPDATE failure_rollups SET first_at = s.f, last_at = s.l, last_message = s.m FROM (SELECT tenant_id,'
         " substr(created_at, 1, 13) || ':00:00.000000' AS bucket, error_code, coalesce(category, '') AS "
         "category, coalesce(severity, '') AS severity, coalesce(recovery_mode, '') AS recovery_mode, "
         'catalog_entry_id IS NOT NULL AS matched, min(created_at) AS f, max(created_at) AS l, '
         'substr(max(created_at || error_message), 27) AS m FROM failure_matches GROUP BY 1, 2, 3, 4, 5, 6, 7)'
         ' AS s WHERE failure_rollups.tenant_id = s.tenant_id AND failure_rollups.bucket = s.bucket AND '
         'failure_rollups.error_code = s.error_code AND failure_rollups.category = s.category AND '
         'failure_rollups.severity = s.severity AND failure_rollups.recovery_mode = s.recovery_mode AND '
         'failure_rollups.matched = s.matched'),
        ('UPDATE failure_rollups_daily SET first_at = s.f, last_at = s.l, last_message = s.m FROM (SELECT '
         "tenant_id, substr(bucket, 1, 10) || ' 00:00:00.000000' AS bucket, error_code, category, severity, "
         'recovery_mode, matched, min(first_at) AS f, max(last_at) AS l, substr(max(last_at || last_message), '
         '27) AS m FROM failure_rollups WHERE last_at IS NOT NULL GROUP BY tenant_id, substr(bucket, 1, 10) ||'
         " ' 00:00:00.000000', error_code, category, severity, recovery_mode, matched) AS s WHERE "
         'failure_rollups_daily.tenant_id = s.tenant_id AND failure_rollups_daily.bucket = s.bucket AND '
         'failure_rollups_daily.error_code = s.error_code AND failure_rollups_daily.category = s.category AND '
         'failure_rollups_daily.severity = s.severity AND failure_rollups_daily.recovery_mode = '
         's.recovery_mode AND failure_rollups_daily.matched = s.matched'),
        ('UPDATE failure_rollups_all SET first_at = s.f, last_at = s.l, last_message = s.m FROM (SELECT bucket'
         ' AS bucket, error_code, category, severity, recovery_mode, matched, min(first_at) AS f, max(last_at)'
         ' AS l, substr(max(last_at || last_message), 27) AS m FROM failure_rollups WHERE last_at IS NOT NULL '
         'GROUP BY bucket, error_code, category, severity, recovery_mode, matched) AS s WHERE '
         'failure_rollups_all.bucket = s.bucket AND failure_rollups_all.error_code = s.error_code AND '
         'failure_rollups_all.category = s.category AND failure_rollups_all.severity = s.severity AND '
         'failure_rollups_all.recovery_mode = s.recovery_mode AND failure_rollups_all.matched = s.matched'),
        ('UPDATE failure_rollups_daily_all SET first_at = s.f, last_at = s.l, last_message = s.m FROM (SELECT '
         'bucket AS bucket, error_code, category, severity, recovery_mode, matched, min(first_at) AS f, '
         'max(last_at) AS l, substr(max(last_at || last_message), 27) AS m FROM failure_rollups_daily WHERE '
         'last_at IS NOT NULL GROUP BY bucket, error_code, category, severity, recovery_mode, matched) AS s '
         'WHERE failure_rollups_daily_all.bucket = s.bucket AND failure_rollups_daily_all.error_code = '
         's.error_code AND failure_rollups_daily_all.category = s.category AND '
         'failure_rollups_daily_all.severity = s.severity AND failure_rollups_daily_all.recovery_mode = '
         's.recovery_mode AND failure_rollups_daily_all.matched = s.matched'),
    ),
}



def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column('first_at', sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column('last_at', sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column('last_message', sa.Text(), nullable=True))
    for statement in BACKFILL[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column('last_message')
            batch_op.drop_column('last_at')
            batch_op.drop_column('first_at')
