"""coarser rollup levels: daily, per tenant-hour, all-time totals, all-tenant hourly and daily (bench figures, docs/performance.md)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

At 1M failures the hourly rollups hold nearly one row per failure (tenant x hour x code), so pages over 7-30
days aggregated hundreds of thousands of rows. These levels are kept in step by queries.rollups.reads; the upgrade
fills them from the existing hourly rollups.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

COUNT_NAMES = ['failures', 'recovery_attempts', 'recovery_successes']

# The backfill, as it ran when this revision was written (frozen: no code of the project is imported).
BACKFILL = {
    "postgresql": (
        ('INSERT INTO failure_rollups_daily (tenant_id, bucket, error_code, category, severity, recovery_mode,'
         " matched, failures, recovery_attempts, recovery_successes) SELECT tenant_id, date_trunc('day', "
         "bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', error_code, category, severity, recovery_mode, "
         'matched, sum(failures), sum(recovery_attempts), sum(recovery_successes) FROM failure_rollups GROUP '
         "BY tenant_id, date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', error_code, category,"
         ' severity, recovery_mode, matched'),
        ('INSERT INTO failure_rollups_tenant_hourly (tenant_id, bucket, matched, failures, recovery_attempts, '
         'recovery_successes) SELECT tenant_id, bucket, matched, sum(failures), sum(recovery_attempts), '
         'sum(recovery_successes) FROM failure_rollups GROUP BY tenant_id, bucket, matched'),
        ('INSERT INTO failure_rollups_all (bucket, error_code, category, severity, recovery_mode, matched, '
         'failures, recovery_attempts, recovery_successes) SELECT bucket, error_code, category, severity, '
         'recovery_mode, matched, sum(failures), sum(recovery_attempts), sum(recovery_successes) FROM '
         'failure_rollups GROUP BY bucket, error_code, category, severity, recovery_mode, matched'),
        ('INSERT INTO failure_rollups_daily_all (bucket, error_code, category, severity, recovery_mode, '
         'matched, failures, recovery_attempts, recovery_successes) SELECT bucket, error_code, category, '
         'severity, recovery_mode, matched, sum(failures), sum(recovery_attempts), sum(recovery_successes) '
         'FROM failure_rollups_daily GROUP BY bucket, error_code, category, severity, recovery_mode, matched'),
        ('INSERT INTO failure_totals (tenant_id, error_code, category, severity, recovery_mode, matched, '
         'failures, recovery_attempts, recovery_successes, first_seen, last_seen) SELECT tenant_id, '
         'error_code, category, severity, recovery_mode, matched, sum(failures), sum(recovery_attempts), '
         'sum(recovery_successes), min(bucket), max(bucket) FROM failure_rollups GROUP BY tenant_id, '
         'error_code, category, severity, recovery_mode, matched'),
    ),
    "sqlite": (
        ('INSERT INTO failure_rollups_daily (tenant_id, bucket, error_code, category, severity, recovery_mode,'
         ' matched, failures, recovery_attempts, recovery_successes) SELECT tenant_id, substr(bucket, 1, 10) '
         "|| ' 00:00:00.000000', error_code, category, severity, recovery_mode, matched, sum(failures), "
         'sum(recovery_attempts), sum(recovery_successes) FROM failure_rollups GROUP BY tenant_id, '
         "substr(bucket, 1, 10) || ' 00:00:00.000000', error_code, category, severity, recovery_mode, matched"),
        ('INSERT INTO failure_rollups_tenant_hourly (tenant_id, bucket, matched, failures, recovery_attempts, '
         'recovery_successes) SELECT tenant_id, bucket, matched, sum(failures), sum(recovery_attempts), '
         'sum(recovery_successes) FROM failure_rollups GROUP BY tenant_id, bucket, matched'),
        ('INSERT INTO failure_rollups_all (bucket, error_code, category, severity, recovery_mode, matched, '
         'failures, recovery_attempts, recovery_successes) SELECT bucket, error_code, category, severity, '
         'recovery_mode, matched, sum(failures), sum(recovery_attempts), sum(recovery_successes) FROM '
         'failure_rollups GROUP BY bucket, error_code, category, severity, recovery_mode, matched'),
        ('INSERT INTO failure_rollups_daily_all (bucket, error_code, category, severity, recovery_mode, '
         'matched, failures, recovery_attempts, recovery_successes) SELECT bucket, error_code, category, '
         'severity, recovery_mode, matched, sum(failures), sum(recovery_attempts), sum(recovery_successes) '
         'FROM failure_rollups_daily GROUP BY bucket, error_code, category, severity, recovery_mode, matched'),
        ('INSERT INTO failure_totals (tenant_id, error_code, category, severity, recovery_mode, matched, '
         'failures, recovery_attempts, recovery_successes, first_seen, last_seen) SELECT tenant_id, '
         'error_code, category, severity, recovery_mode, matched, sum(failures), sum(recovery_attempts), '
         'sum(recovery_successes), min(bucket), max(bucket) FROM failure_rollups GROUP BY tenant_id, '
         'error_code, category, severity, recovery_mode, matched'),
    ),
}



def _counts() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column('failures', sa.Integer(), server_default=sa.text('0'), nullable=False),
            sa.Column('recovery_attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
            sa.Column('recovery_successes', sa.Integer(), server_default=sa.text('0'), nullable=False)]


def _keys() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column('error_code', sa.String(length=128), nullable=False),
            sa.Column('category', sa.String(length=64), server_default=sa.text("''"), nullable=False),
            sa.Column('severity', sa.String(length=16), server_default=sa.text("''"), nullable=False),
            sa.Column('recovery_mode', sa.String(length=32), server_default=sa.text("''"), nullable=False),
            sa.Column('matched', sa.Boolean(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        'failure_rollups_daily',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
        *_keys(), *_counts(),
        sa.UniqueConstraint('tenant_id', 'bucket', 'error_code', 'category', 'severity', 'recovery_mode',
                            'matched', name='uq_failure_rollups_daily_key'),
    )
    with op.batch_alter_table('failure_rollups_daily', schema=None) as batch_op:
        batch_op.create_index('ix_frd_tenant_bucket', ['tenant_id', 'bucket'], unique=False)
    op.create_table(
        'failure_rollups_tenant_hourly',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
        sa.Column('matched', sa.Boolean(), nullable=False),
        *_counts(),
        sa.UniqueConstraint('tenant_id', 'bucket', 'matched', name='uq_failure_rollups_tenant_hourly_key'),
    )
    with op.batch_alter_table('failure_rollups_tenant_hourly', schema=None) as batch_op:
        batch_op.create_index('ix_frth_bucket', ['bucket'], unique=False)
        batch_op.create_index('ix_frth_tenant_bucket', ['tenant_id', 'bucket'], unique=False,
                              postgresql_include=['matched', *COUNT_NAMES])
    op.create_table(
        'failure_totals',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        *_keys(), *_counts(),
        sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('tenant_id', 'error_code', 'category', 'severity', 'recovery_mode', 'matched',
                            name='uq_failure_totals_key'),
    )
    for name in ('failure_rollups_all', 'failure_rollups_daily_all'):
        op.create_table(
            name,
            sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
            *_keys(), *_counts(),
            sa.UniqueConstraint('bucket', 'error_code', 'category', 'severity', 'recovery_mode', 'matched',
                                name=f'uq_{name}_key'),
        )
    # Covering indexes (PostgreSQL): a tenant's window is an index-only scan of its own rows.
    # Existing hourly rollups are the source of truth for the new levels (raw rows may be far more).
    for statement in BACKFILL[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('failure_rollups_daily_all')
    op.drop_table('failure_rollups_all')
    op.drop_table('failure_totals')
    with op.batch_alter_table('failure_rollups_tenant_hourly', schema=None) as batch_op:
        batch_op.drop_index('ix_frth_tenant_bucket')
        batch_op.drop_index('ix_frth_bucket')
    op.drop_table('failure_rollups_tenant_hourly')
    with op.batch_alter_table('failure_rollups_daily', schema=None) as batch_op:
        batch_op.drop_index('ix_frd_tenant_bucket')
    op.drop_table('failure_rollups_daily')
