"""channels: WhatsApp identities (one person across channels), inbound dedupe, outbound statuses,
messages held while the 24-hour window is closed

Revision ID: 0011
Revises: 0001
Create Date: 2026-11-29 19:08:56.602655
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0011'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_held',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('call', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_held'))
    )
    with op.batch_alter_table('channel_held', schema=None) as batch_op:
        batch_op.create_index('ix_channel_held_chat', ['chat_id', 'delivered_at'], unique=False)

    op.create_table('channel_inbound',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('received_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_inbound')),
    sa.UniqueConstraint('external_id', name=op.f('uq_channel_inbound_external_id'))
    )
    with op.batch_alter_table('channel_inbound', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_inbound_received_at'), ['received_at'], unique=False)

    op.create_table('channel_outbound',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('choices', sa.JSON(), nullable=True),
    sa.Column('call', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('status_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_outbound')),
    sa.UniqueConstraint('external_id', name=op.f('uq_channel_outbound_external_id'))
    )
    with op.batch_alter_table('channel_outbound', schema=None) as batch_op:
        batch_op.create_index('ix_channel_outbound_chat', ['chat_id', 'id'], unique=False)

    op.create_table('channel_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('wa_id', sa.String(length=32), nullable=True),
    sa.Column('bsuid', sa.String(length=160), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('last_inbound_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_channel_identity_person_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_identity')),
    sa.UniqueConstraint('channel', 'bsuid', name='uq_channel_identity_bsuid'),
    sa.UniqueConstraint('channel', 'wa_id', name='uq_channel_identity_wa_id'),
    sa.UniqueConstraint('chat_id', name=op.f('uq_channel_identity_chat_id'))
    )
    with op.batch_alter_table('channel_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_identity_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('channel_identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_identity_person_id'))

    op.drop_table('channel_identity')
    with op.batch_alter_table('channel_outbound', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_outbound_chat')

    op.drop_table('channel_outbound')
    with op.batch_alter_table('channel_inbound', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_inbound_received_at'))

    op.drop_table('channel_inbound')
    with op.batch_alter_table('channel_held', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_held_chat')

    op.drop_table('channel_held')
