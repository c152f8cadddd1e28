"""unmatched signature rollups per tenant and UTC day (Catalog candidates at scale, docs/performance.md)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

The Catalog page's candidate patterns grouped every unmatched failure of a 30-day window by signature. This
table holds those groups per tenant, UTC day, signature and error code (occurrences, first and last seen);
queries.rollups.signatures keeps it in step and the upgrade fills it from the unmatched raw rows. The partial
index (signature, created_at) on unmatched rows reads the latest rows of one signature across tenants.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

UNMATCHED = sa.text('catalog_entry_id IS NULL')

# The day of created_at in UTC. SQLite stores timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text
# (as the product stores them), so the day is the first ten characters.
BACKFILL_PG = (
    "INSERT INTO unmatched_signature_daily (tenant_id, bucket, signature, error_code, occurrences, first_seen, "
    "last_seen) SELECT tenant_id, date_trunc('day', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', signature, "
    "error_code, count(*), min(created_at), max(created_at) FROM failure_matches WHERE catalog_entry_id IS NULL "
    "GROUP BY 1, 2, 3, 4"
)
BACKFILL_SQLITE = (
    "INSERT INTO unmatched_signature_daily (tenant_id, bucket, signature, error_code, occurrences, first_seen, "
    "last_seen) SELECT tenant_id, substr(created_at, 1, 10) || ' 00:00:00.000000', signature, error_code, count(*), "
    "min(created_at), max(created_at) FROM failure_matches WHERE catalog_entry_id IS NULL GROUP BY 1, 2, 3, 4"
)


def upgrade() -> None:
    op.create_table(
        'unmatched_signature_daily',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
        sa.Column('signature', sa.String(length=64), nullable=False),
        sa.Column('error_code', sa.String(length=128), nullable=False),
        sa.Column('occurrences', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('tenant_id', 'bucket', 'signature', 'error_code',
                            name='uq_unmatched_signature_daily_key'),
    )
    with op.batch_alter_table('unmatched_signature_daily', schema=None) as batch_op:
        batch_op.create_index('ix_usd_bucket', ['bucket'], unique=False)
        batch_op.create_index('ix_usd_tenant_bucket', ['tenant_id', 'bucket'], unique=False)
    with op.batch_alter_table('failure_matches', schema=None) as batch_op:
        batch_op.create_index('ix_fm_unmatched_signature_created', ['signature', 'created_at'], unique=False,
                              postgresql_where=UNMATCHED, sqlite_where=UNMATCHED)
    op.execute(BACKFILL_PG if op.get_bind().dialect.name == "postgresql" else BACKFILL_SQLITE)

def downgrade() -> None:
    with op.batch_alter_table('failure_matches', schema=None) as batch_op:
        batch_op.drop_index('ix_fm_unmatched_signature_created', postgresql_where=UNMATCHED, sqlite_where=UNMATCHED)
    with op.batch_alter_table('unmatched_signature_daily', schema=None) as batch_op:
        batch_op.drop_index('ix_usd_tenant_bucket')
        batch_op.drop_index('ix_usd_bucket')
    op.drop_table('unmatched_signature_daily')
