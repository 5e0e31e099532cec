"""dashboard: one-time sign-in links and browser sessions

Revision ID: 0014
Revises: 0001
Create Date: 2026-11-29 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0014'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('dashboard_link', 'dashboard_session'):
        columns = [
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('token_hash', sa.String(length=64), nullable=False),
            sa.Column('telegram_id', sa.BigInteger(), nullable=False),
            sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
            sa.Column('expires_at', storage.models.UTCDateTime(timezone=True), nullable=False),
            sa.Column('used_at' if table == 'dashboard_link' else 'ended_at',
                      storage.models.UTCDateTime(timezone=True), nullable=True),
        ]
        op.create_table(table, *columns,
                        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}')),
                        sa.UniqueConstraint('token_hash', name=op.f(f'uq_{table}_token_hash')))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_telegram_id'), ['telegram_id'], unique=False)


def downgrade() -> None:
    for table in ('dashboard_session', 'dashboard_link'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_telegram_id'))
        op.drop_table(table)
