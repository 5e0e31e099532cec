"""ballot revision: a voting round's revision, moved on when what its ballots show changes

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 06:10:00

- ``voting_round.revision``: one more with every rename of a problem, in the same transaction. Each process keeps
  a voting round's ballots (the problems' titles in their order) keyed by it, so a ballot button does not read
  them again (``services.voting.ballot_items``), and a rename made by any process is seen by all.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voting_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('voting_round', schema=None) as batch_op:
        batch_op.drop_column('revision')
