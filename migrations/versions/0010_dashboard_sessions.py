"""server-side dashboard sessions (sign-out and disabling an account end them everywhere)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

The dashboard's cookie held a signed user name that stayed valid until it expired, whatever happened on the
server. Sessions now live here: the cookie holds a random token and this table its sha256.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_dashboard_sessions")),
    )
    op.create_index("ix_ds_user", "dashboard_sessions", ["user_name"])


def downgrade() -> None:
    op.drop_index("ix_ds_user", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
