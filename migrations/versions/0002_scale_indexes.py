"""indexes for the page queries at scale (bench figures, docs/performance.md)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

- ix_fm_unrecovered_queue / ix_fm_unrecovered_tenant_queue: the on-call queue's exact order (severity_rank,
  created_at DESC, id), so its top 500 is read off the index instead of sorting every critical failure.
- ix_fm_unrecovered_summary: per-severity counts of unrecovered failures as an index-only scan (was a
  sequential scan of failure_matches for all tenants).
- ix_fm_unmatched_created: candidate patterns over all tenants (time range, grouped by signature) without a
  sequential scan; the tenant case already has ix_fm_unmatched.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

UNRECOVERED = sa.text('recovery_succeeded IS NOT TRUE')
UNMATCHED = sa.text('catalog_entry_id IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('failure_matches', schema=None) as batch_op:
        batch_op.create_index('ix_fm_unrecovered_queue', ['severity_rank', sa.text('created_at DESC'), 'id'],
                              unique=False, postgresql_where=UNRECOVERED, sqlite_where=UNRECOVERED)
        batch_op.create_index('ix_fm_unrecovered_tenant_queue',
                              ['tenant_id', 'severity_rank', sa.text('created_at DESC'), 'id'],
                              unique=False, postgresql_where=UNRECOVERED, sqlite_where=UNRECOVERED)
        batch_op.create_index('ix_fm_unrecovered_summary',
                              ['tenant_id', 'severity_rank', 'recovery_attempted', 'severity'],
                              unique=False, postgresql_where=UNRECOVERED, sqlite_where=UNRECOVERED)
        batch_op.create_index('ix_fm_unmatched_created', ['created_at', 'signature'], unique=False,
                              postgresql_where=UNMATCHED, sqlite_where=UNMATCHED)


def downgrade() -> None:
    with op.batch_alter_table('failure_matches', schema=None) as batch_op:
        batch_op.drop_index('ix_fm_unmatched_created', postgresql_where=UNMATCHED, sqlite_where=UNMATCHED)
        batch_op.drop_index('ix_fm_unrecovered_summary', postgresql_where=UNRECOVERED, sqlite_where=UNRECOVERED)
        batch_op.drop_index('ix_fm_unrecovered_tenant_queue', postgresql_where=UNRECOVERED,
                            sqlite_where=UNRECOVERED)
        batch_op.drop_index('ix_fm_unrecovered_queue', postgresql_where=UNRECOVERED, sqlite_where=UNRECOVERED)
