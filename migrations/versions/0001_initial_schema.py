"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('catalog_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=128), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('patterns', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('keywords', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('is_retryable', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('recovery_mode', sa.String(length=32), nullable=False),
    sa.Column('recovery_suggestions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=128), server_default=sa.text("'catalog'"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_entries')),
    sa.UniqueConstraint('code', name=op.f('uq_catalog_entries_code'))
    )
    op.create_table('failure_pattern_exports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('s3_key', sa.String(length=512), nullable=True),
    sa.Column('local_path', sa.String(length=1024), nullable=True),
    sa.Column('tenant_id', sa.String(length=64), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('uploader', sa.String(length=128), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('retry_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failure_pattern_exports'))
    )
    with op.batch_alter_table('failure_pattern_exports', schema=None) as batch_op:
        batch_op.create_index('ix_fpe_status', ['status', 'created_at'], unique=False)

    op.create_table('failure_rollups',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
    sa.Column('error_code', sa.String(length=128), nullable=False),
    sa.Column('category', sa.String(length=64), server_default=sa.text("('')"), nullable=False),
    sa.Column('severity', sa.String(length=16), server_default=sa.text("('')"), nullable=False),
    sa.Column('recovery_mode', sa.String(length=32), server_default=sa.text("('')"), nullable=False),
    sa.Column('matched', sa.Boolean(), nullable=False),
    sa.Column('failures', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('recovery_attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('recovery_successes', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.UniqueConstraint('tenant_id', 'bucket', 'error_code', 'category', 'severity', 'recovery_mode', 'matched', name='uq_failure_rollups_key')
    )
    with op.batch_alter_table('failure_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_fr_bucket', ['bucket'], unique=False)
        batch_op.create_index('ix_fr_tenant_bucket', ['tenant_id', 'bucket'], unique=False)

    op.create_table('feature_flags',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=128), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_feature_flags'))
    )
    op.create_table('recovery_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('failure_id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=False),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=16), server_default=sa.text("'api'"), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_events'))
    )
    with op.batch_alter_table('recovery_events', schema=None) as batch_op:
        batch_op.create_index('ix_re_failure_at', ['failure_id', 'at'], unique=False)
        batch_op.create_index('ix_re_tenant_at', ['tenant_id', 'at'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name'))
    )
    op.create_table('failure_matches',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('error_code', sa.String(length=128), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('catalog_entry_id', sa.Integer(), nullable=True),
    sa.Column('match_type', sa.String(length=16), nullable=False),
    sa.Column('confidence', sa.Float(), server_default=sa.text('0'), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('severity', sa.String(length=16), nullable=True),
    sa.Column('severity_rank', sa.SmallInteger(), server_default=sa.text('5'), nullable=False),
    sa.Column('recovery_mode', sa.String(length=32), nullable=True),
    sa.Column('recovery_suggestion', sa.Text(), nullable=True),
    sa.Column('skill_id', sa.String(length=128), nullable=True),
    sa.Column('step_index', sa.Integer(), nullable=True),
    sa.Column('is_retryable', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('recovery_attempted', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('recovery_succeeded', sa.Boolean(), nullable=True),
    sa.Column('recovered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recovered_by', sa.String(length=128), nullable=True),
    sa.Column('recovery_notes', sa.Text(), nullable=True),
    sa.Column('context', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.ForeignKeyConstraint(['catalog_entry_id'], ['catalog_entries.id'], name=op.f('fk_failure_matches_catalog_entry_id_catalog_entries'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failure_matches'))
    )
    with op.batch_alter_table('failure_matches', schema=None) as batch_op:
        batch_op.create_index('ix_fm_code_created', ['error_code', 'created_at'], unique=False)
        batch_op.create_index('ix_fm_created', ['created_at'], unique=False)
        batch_op.create_index('ix_fm_tenant_category_created', ['tenant_id', 'category', 'created_at'], unique=False)
        batch_op.create_index('ix_fm_tenant_code_created', ['tenant_id', 'error_code', 'created_at'], unique=False)
        batch_op.create_index('ix_fm_tenant_created', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index('ix_fm_tenant_mode_created', ['tenant_id', 'recovery_mode', 'created_at'], unique=False)
        batch_op.create_index('ix_fm_tenant_run', ['tenant_id', 'run_id'], unique=False)
        batch_op.create_index('ix_fm_tenant_signature_created', ['tenant_id', 'signature', 'created_at'], unique=False)
        batch_op.create_index('ix_fm_unmatched', ['tenant_id', 'created_at'], unique=False, postgresql_where=sa.text('catalog_entry_id IS NULL'), sqlite_where=sa.text('catalog_entry_id IS NULL'))
        batch_op.create_index('ix_fm_unrecovered', ['tenant_id', 'severity_rank', 'created_at'], unique=False, postgresql_where=sa.text('recovery_succeeded IS NOT TRUE'), sqlite_where=sa.text('recovery_succeeded IS NOT TRUE'))
        batch_op.create_index('ix_fm_unrecovered_all', ['severity_rank', 'created_at'], unique=False, postgresql_where=sa.text('recovery_succeeded IS NOT TRUE'), sqlite_where=sa.text('recovery_succeeded IS NOT TRUE'))

    


def downgrade() -> None:
    
    with op.batch_alter_table('failure_matches', schema=None) as batch_op:
        batch_op.drop_index('ix_fm_unrecovered_all', postgresql_where=sa.text('recovery_succeeded IS NOT TRUE'), sqlite_where=sa.text('recovery_succeeded IS NOT TRUE'))
        batch_op.drop_index('ix_fm_unrecovered', postgresql_where=sa.text('recovery_succeeded IS NOT TRUE'), sqlite_where=sa.text('recovery_succeeded IS NOT TRUE'))
        batch_op.drop_index('ix_fm_unmatched', postgresql_where=sa.text('catalog_entry_id IS NULL'), sqlite_where=sa.text('catalog_entry_id IS NULL'))
        batch_op.drop_index('ix_fm_tenant_signature_created')
        batch_op.drop_index('ix_fm_tenant_run')
        batch_op.drop_index('ix_fm_tenant_mode_created')
        batch_op.drop_index('ix_fm_tenant_created')
        batch_op.drop_index('ix_fm_tenant_code_created')
        batch_op.drop_index('ix_fm_tenant_category_created')
        batch_op.drop_index('ix_fm_created')
        batch_op.drop_index('ix_fm_code_created')

    op.drop_table('failure_matches')
    op.drop_table('users')
    with op.batch_alter_table('recovery_events', schema=None) as batch_op:
        batch_op.drop_index('ix_re_tenant_at')
        batch_op.drop_index('ix_re_failure_at')

    op.drop_table('recovery_events')
    op.drop_table('feature_flags')
    with op.batch_alter_table('failure_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_fr_tenant_bucket')
        batch_op.drop_index('ix_fr_bucket')

    op.drop_table('failure_rollups')
    with op.batch_alter_table('failure_pattern_exports', schema=None) as batch_op:
        batch_op.drop_index('ix_fpe_status')

    op.drop_table('failure_pattern_exports')
    op.drop_table('catalog_entries')
    op.drop_table('api_tokens')
    
