"""drop four failure_matches indexes that no query uses any more (ingest writes every index of every row)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

- ix_fm_unrecovered (tenant_id, severity_rank, created_at) and ix_fm_unrecovered_all (severity_rank,
  created_at): the queue indexes of 0002 have the same leading columns (created_at descending, then id), and
  the planner takes them for every on-call and unrecovered query.
- ix_fm_unrecovered_summary: the On-call summary reads failure_totals (0003); a windowed summary reads a
  tenant's range of the queue index.
- ix_fm_unmatched_created: candidate patterns read unmatched_signature_daily (0005).
Each of the 17 indexes costs ingest an insert per row; these four were a quarter of that work.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

UNRECOVERED = sa.text('recovery_succeeded IS NOT TRUE')
UNMATCHED = sa.text('catalog_entry_id IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('failure_matches', schema=None) as batch_op:
        for name in ('ix_fm_unrecovered', 'ix_fm_unrecovered_all', 'ix_fm_unrecovered_summary',
                     'ix_fm_unmatched_created'):
            batch_op.drop_index(name)


def downgrade() -> None:
    with op.batch_alter_table('failure_matches', schema=None) as batch_op:
        batch_op.create_index('ix_fm_unrecovered', ['tenant_id', 'severity_rank', 'created_at'], unique=False,
                              postgresql_where=UNRECOVERED, sqlite_where=UNRECOVERED)
        batch_op.create_index('ix_fm_unrecovered_all', ['severity_rank', 'created_at'], unique=False,
                              postgresql_where=UNRECOVERED, sqlite_where=UNRECOVERED)
        batch_op.create_index('ix_fm_unrecovered_summary',
                              ['tenant_id', 'severity_rank', 'recovery_attempted', 'severity'],
                              unique=False, postgresql_where=UNRECOVERED, sqlite_where=UNRECOVERED)
        batch_op.create_index('ix_fm_unmatched_created', ['created_at', 'signature'], unique=False,
                              postgresql_where=UNMATCHED, sqlite_where=UNMATCHED)
