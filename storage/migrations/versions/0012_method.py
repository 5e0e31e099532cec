"""method: a round's mode, merges limited to one village, the session-attendance answer

Revision ID: 0012
Revises: 0006
Create Date: 2026-11-29 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0012'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voting_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=16), server_default='both', nullable=False))
        batch_op.create_check_constraint(op.f('ck_voting_round_mode'), "mode IN ('phone', 'sessions', 'both')")
    with op.batch_alter_table('voting_problem_merge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('village_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_voting_problem_merge_village_id_village'), 'village',
                                    ['village_id'], ['id'], ondelete='CASCADE')
    op.create_table('voting_attendance',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('attended', sa.Boolean(), nullable=False),
    sa.Column('answered_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_voting_attendance_person_id_person'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['voting_round.id'],
                            name=op.f('fk_voting_attendance_round_id_voting_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_voting_attendance_village_id_village'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'person_id', name=op.f('pk_voting_attendance'))
    )


def downgrade() -> None:
    op.drop_table('voting_attendance')
    with op.batch_alter_table('voting_problem_merge', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_voting_problem_merge_village_id_village'), type_='foreignkey')
        batch_op.drop_column('village_id')
    with op.batch_alter_table('voting_round', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_voting_round_mode'), type_='check')
        batch_op.drop_column('mode')
