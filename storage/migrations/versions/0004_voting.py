"""voting: rounds, problems, ballots, sessions

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23 01:31:21.475296
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voting_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('aiyl_aimak_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('collect_ends_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('vote_ends_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminder_hours', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('collecting_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voting_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.BigInteger(), nullable=True),
    sa.Column('results_published_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("phase IN ('draft', 'collecting', 'voting', 'closed')", name=op.f('ck_voting_round_phase')),
    sa.ForeignKeyConstraint(['aiyl_aimak_id'], ['aiyl_aimak.id'], name=op.f('fk_voting_round_aiyl_aimak_id_aiyl_aimak'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voting_round'))
    )
    with op.batch_alter_table('voting_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voting_round_aiyl_aimak_id'), ['aiyl_aimak_id'], unique=False)
        batch_op.create_index('ix_voting_round_phase_ends', ['phase', 'vote_ends_at'], unique=False)

    op.create_table('voting_problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('title_ky', sa.String(length=200), nullable=False),
    sa.Column('title_ru', sa.String(length=200), nullable=False),
    sa.Column('competence', sa.String(length=16), nullable=False),
    sa.Column('all_villages', sa.Boolean(), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("competence IN ('local', 'delegated', 'outside')", name=op.f('ck_voting_problem_competence')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['voting_problem.id'], name=op.f('fk_voting_problem_merged_into_id_voting_problem'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['voting_round.id'], name=op.f('fk_voting_problem_round_id_voting_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voting_problem'))
    )
    with op.batch_alter_table('voting_problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voting_problem_round_id'), ['round_id'], unique=False)

    op.create_table('voting_round_village',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['voting_round.id'], name=op.f('fk_voting_round_village_round_id_voting_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_voting_round_village_village_id_village'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'village_id', name=op.f('pk_voting_round_village'))
    )
    op.create_table('voting_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('age_band', sa.String(length=16), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('women', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('entered_by', sa.BigInteger(), nullable=True),
    sa.Column('entered_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('women >= 0 AND women <= participants', name=op.f('ck_voting_session_women')),
    sa.ForeignKeyConstraint(['round_id'], ['voting_round.id'], name=op.f('fk_voting_session_round_id_voting_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_voting_session_village_id_village'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voting_session')),
    sa.UniqueConstraint('round_id', 'village_id', 'age_band', 'held_on', 'place', name='uq_voting_session_key')
    )
    with op.batch_alter_table('voting_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voting_session_round_id'), ['round_id'], unique=False)

    op.create_table('voting_ballot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('age_band', sa.String(length=16), nullable=True),
    sa.Column('receipt', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('cast_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_voting_ballot_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['voting_round.id'], name=op.f('fk_voting_ballot_round_id_voting_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_voting_ballot_village_id_village'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voting_ballot')),
    sa.UniqueConstraint('round_id', 'person_id', name='uq_voting_ballot_round_person'),
    sa.UniqueConstraint('round_id', 'receipt', name='uq_voting_ballot_round_receipt')
    )
    with op.batch_alter_table('voting_ballot', schema=None) as batch_op:
        batch_op.create_index('ix_voting_ballot_round_village', ['round_id', 'village_id'], unique=False)

    op.create_table('voting_ballot_item',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['problem_id'], ['voting_problem.id'], name=op.f('fk_voting_ballot_item_problem_id_voting_problem'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['voting_round.id'], name=op.f('fk_voting_ballot_item_round_id_voting_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_voting_ballot_item_village_id_village'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'village_id', 'problem_id', name=op.f('pk_voting_ballot_item')),
    sa.UniqueConstraint('round_id', 'village_id', 'position', name='uq_voting_ballot_item_position')
    )
    op.create_table('voting_problem_merge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('merged_by', sa.BigInteger(), nullable=True),
    sa.Column('merged_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('undone_by', sa.BigInteger(), nullable=True),
    sa.Column('undone_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['voting_round.id'], name=op.f('fk_voting_problem_merge_round_id_voting_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['voting_problem.id'], name=op.f('fk_voting_problem_merge_source_id_voting_problem'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['voting_problem.id'], name=op.f('fk_voting_problem_merge_target_id_voting_problem'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voting_problem_merge'))
    )
    with op.batch_alter_table('voting_problem_merge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voting_problem_merge_round_id'), ['round_id'], unique=False)

    op.create_table('voting_session_vote',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.CheckConstraint('votes >= 0', name=op.f('ck_voting_session_vote_votes')),
    sa.ForeignKeyConstraint(['problem_id'], ['voting_problem.id'], name=op.f('fk_voting_session_vote_problem_id_voting_problem'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['voting_session.id'], name=op.f('fk_voting_session_vote_session_id_voting_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'problem_id', name=op.f('pk_voting_session_vote'))
    )
    with op.batch_alter_table('voting_session_vote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voting_session_vote_problem_id'), ['problem_id'], unique=False)

    op.create_table('voting_submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('slot BETWEEN 1 AND 5', name=op.f('ck_voting_submission_slot')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_voting_submission_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['problem_id'], ['voting_problem.id'], name=op.f('fk_voting_submission_problem_id_voting_problem'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['voting_round.id'], name=op.f('fk_voting_submission_round_id_voting_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_voting_submission_village_id_village'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voting_submission')),
    sa.UniqueConstraint('round_id', 'person_id', 'slot', name='uq_voting_submission_slot')
    )
    with op.batch_alter_table('voting_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voting_submission_problem_id'), ['problem_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voting_submission_round_id'), ['round_id'], unique=False)

    op.create_table('voting_ballot_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('problem_ids', sa.JSON(), nullable=False),
    sa.Column('at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['voting_ballot.id'], name=op.f('fk_voting_ballot_change_ballot_id_voting_ballot'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_voting_ballot_change_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voting_ballot_change')),
    sa.UniqueConstraint('ballot_id', 'version', name='uq_voting_ballot_change_version')
    )
    op.create_table('voting_ballot_choice',
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['voting_ballot.id'], name=op.f('fk_voting_ballot_choice_ballot_id_voting_ballot'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['problem_id'], ['voting_problem.id'], name=op.f('fk_voting_ballot_choice_problem_id_voting_problem'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ballot_id', 'problem_id', name=op.f('pk_voting_ballot_choice'))
    )
    with op.batch_alter_table('voting_ballot_choice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voting_ballot_choice_problem_id'), ['problem_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('voting_ballot_choice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voting_ballot_choice_problem_id'))

    op.drop_table('voting_ballot_choice')
    op.drop_table('voting_ballot_change')
    with op.batch_alter_table('voting_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voting_submission_round_id'))
        batch_op.drop_index(batch_op.f('ix_voting_submission_problem_id'))

    op.drop_table('voting_submission')
    with op.batch_alter_table('voting_session_vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voting_session_vote_problem_id'))

    op.drop_table('voting_session_vote')
    with op.batch_alter_table('voting_problem_merge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voting_problem_merge_round_id'))

    op.drop_table('voting_problem_merge')
    op.drop_table('voting_ballot_item')
    with op.batch_alter_table('voting_ballot', schema=None) as batch_op:
        batch_op.drop_index('ix_voting_ballot_round_village')

    op.drop_table('voting_ballot')
    with op.batch_alter_table('voting_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voting_session_round_id'))

    op.drop_table('voting_session')
    op.drop_table('voting_round_village')
    with op.batch_alter_table('voting_problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voting_problem_round_id'))

    op.drop_table('voting_problem')
    with op.batch_alter_table('voting_round', schema=None) as batch_op:
        batch_op.drop_index('ix_voting_round_phase_ends')
        batch_op.drop_index(batch_op.f('ix_voting_round_aiyl_aimak_id'))

    op.drop_table('voting_round')
