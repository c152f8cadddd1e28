"""unmatched signature rollups per tenant and UTC week (Catalog candidates flat at scale, docs/performance.md)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

The Catalog page's candidates grouped 30 daily rollup rows per (tenant, signature, code) key for its 30-day
window: 20,000 rows at a million failures, the part of the page whose cost still grew with the table. This
table holds the same groups per UTC week (Monday 00:00); a window reads its whole weeks here and only its edge
days from unmatched_signature_daily. queries.rollups.signatures keeps it in step; the upgrade fills it from the
daily level.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The Monday of a daily bucket. SQLite stores it as 'YYYY-MM-DD 00:00:00.000000' text (as the product
# stores them); its 'weekday 1' modifier moves forward to the next Monday (or stays on one), so six days back first.
BACKFILL_PG = (
    "INSERT INTO unmatched_signature_weekly (tenant_id, bucket, signature, error_code, occurrences, first_seen, "
    "last_seen) SELECT tenant_id, "
    "date_trunc('week', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', signature, error_code, sum(occurrences), "
    "min(first_seen), max(last_seen) FROM unmatched_signature_daily WHERE occurrences > 0 GROUP BY 1, 2, 3, 4"
)
BACKFILL_SQLITE = (
    "INSERT INTO unmatched_signature_weekly (tenant_id, bucket, signature, error_code, occurrences, first_seen, "
    "last_seen) SELECT tenant_id, "
    "date(substr(bucket, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00.000000', signature, error_code, "
    "sum(occurrences), min(first_seen), max(last_seen) FROM unmatched_signature_daily WHERE occurrences > 0 "
    "GROUP BY 1, 2, 3, 4"
)


def upgrade() -> None:
    op.create_table(
        'unmatched_signature_weekly',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
        sa.Column('signature', sa.String(length=64), nullable=False),
        sa.Column('error_code', sa.String(length=128), nullable=False),
        sa.Column('occurrences', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('tenant_id', 'bucket', 'signature', 'error_code',
                            name='uq_unmatched_signature_weekly_key'),
    )
    with op.batch_alter_table('unmatched_signature_weekly', schema=None) as batch_op:
        batch_op.create_index('ix_usw_bucket', ['bucket'], unique=False)
    op.execute(BACKFILL_PG if op.get_bind().dialect.name == "postgresql" else BACKFILL_SQLITE)


def downgrade() -> None:
    with op.batch_alter_table('unmatched_signature_weekly', schema=None) as batch_op:
        batch_op.drop_index('ix_usw_bucket')
    op.drop_table('unmatched_signature_weekly')
