"""speed: vote counters kept as ballots are cast; an index of the outbox's open rows

Revision ID: 0015
Revises: 0002, 0004, 0005
Create Date: 2026-11-29 19:40:00

- ``voting_tally``: phone votes per round, village, age group, sex and problem, moved in the same transaction as
  each ballot (``services.voting.cast_ballot``); filled here from the ballots already cast.
- ``broadcast.ready_at``: when all of a broadcast's messages are queued (they may be queued in chunks, each
  committed); a broadcast is not reported finished before.
- ``ix_outbox_message_open``: a partial index of pending and sending rows by id, so the sender's claim does not
  walk past everything sent before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0015'
down_revision = ('0002', '0004', '0005')
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voting_tally',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('age_band', sa.String(length=16), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['problem_id'], ['voting_problem.id'], name=op.f('fk_voting_tally_problem_id_voting_problem'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['voting_round.id'], name=op.f('fk_voting_tally_round_id_voting_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_voting_tally_village_id_village'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'village_id', 'age_band', 'sex', 'problem_id', name=op.f('pk_voting_tally'))
    )
    op.execute(
        "INSERT INTO voting_tally (round_id, village_id, age_band, sex, problem_id, votes) "
        "SELECT b.round_id, b.village_id, coalesce(b.age_band, ''), coalesce(b.sex, ''), c.problem_id, count(*) "
        "FROM voting_ballot_choice c JOIN voting_ballot b ON b.id = c.ballot_id "
        "GROUP BY b.round_id, b.village_id, coalesce(b.age_band, ''), coalesce(b.sex, ''), c.problem_id"
    )
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ready_at', storage.models.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE broadcast SET ready_at = created_at")
    op.create_index('ix_outbox_message_open', 'outbox_message', ['id'], unique=False,
                    sqlite_where=sa.text("status IN ('pending', 'sending')"),
                    postgresql_where=sa.text("status IN ('pending', 'sending')"))


def downgrade() -> None:
    op.drop_index('ix_outbox_message_open', table_name='outbox_message')
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_column('ready_at')
    op.drop_table('voting_tally')
