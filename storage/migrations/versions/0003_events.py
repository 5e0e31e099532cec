"""events: notices, invitations, questions, outcome

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 01:44:10.906937
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('aiyl_aimak_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=300), nullable=False),
    sa.Column('agenda', sa.Text(), nullable=False),
    sa.Column('starts_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=False),
    sa.Column('whole_aimak', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reminder_minutes', sa.JSON(), nullable=False),
    sa.Column('decision_rule', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('announced_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attended', sa.Integer(), nullable=True),
    sa.Column('attended_women', sa.Integer(), nullable=True),
    sa.Column('minutes', sa.Text(), nullable=True),
    sa.Column('accepted_proposals', sa.JSON(), nullable=False),
    sa.Column('outcome_published_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['aiyl_aimak_id'], ['aiyl_aimak.id'], name=op.f('fk_event_aiyl_aimak_id_aiyl_aimak'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_aimak_start', ['aiyl_aimak_id', 'starts_at'], unique=False)

    op.create_table('event_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('votes_for', sa.Integer(), nullable=False),
    sa.Column('votes_against', sa.Integer(), nullable=False),
    sa.Column('abstained', sa.Integer(), nullable=False),
    sa.Column('chair_vote', sa.String(length=8), nullable=True),
    sa.Column('adopted', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_decision_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_decision'))
    )
    with op.batch_alter_table('event_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_decision_event_id'), ['event_id'], unique=False)

    op.create_table('event_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_document_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_document'))
    )
    with op.batch_alter_table('event_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_document_event_id'), ['event_id'], unique=False)

    op.create_table('event_village',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_village_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_event_village_village_id_village'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'village_id', name=op.f('pk_event_village'))
    )
    op.create_table('event_invite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('response', sa.String(length=8), nullable=True),
    sa.Column('responded_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('invited_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_invite_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_event_invite_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_invite')),
    sa.UniqueConstraint('event_id', 'person_id', name=op.f('uq_event_invite_event_id'))
    )
    with op.batch_alter_table('event_invite', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_invite_person_id'), ['person_id'], unique=False)

    op.create_table('event_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_question_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_event_question_person_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_question'))
    )
    with op.batch_alter_table('event_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_question_event_id'), ['event_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('event_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_question_event_id'))

    op.drop_table('event_question')
    with op.batch_alter_table('event_invite', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_invite_person_id'))

    op.drop_table('event_invite')
    op.drop_table('event_village')
    with op.batch_alter_table('event_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_document_event_id'))

    op.drop_table('event_document')
    with op.batch_alter_table('event_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_decision_event_id'))

    op.drop_table('event_decision')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_aimak_start')

    op.drop_table('event')
