"""reach: oblasts and districts above the aiyl aimaks, search keys, village links, assisted participation

Revision ID: 0013
Revises: 0003, 0006
Create Date: 2026-11-29 19:09:50.102312
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.search_key import search_key

revision = '0013'
down_revision = ('0003', '0006')  # event_invite; voting_ballot (0004) and plan_monitoring_answer (0006)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('region',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name_ky', sa.String(length=200), nullable=False),
    sa.Column('name_ru', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_region')),
    sa.UniqueConstraint('code', name=op.f('uq_region_code'))
    )
    op.create_table('district',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name_ky', sa.String(length=200), nullable=False),
    sa.Column('name_ru', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_district_region_id_region'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_district')),
    sa.UniqueConstraint('code', name=op.f('uq_district_code'))
    )
    with op.batch_alter_table('district', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_district_region_id'), ['region_id'], unique=False)

    with op.batch_alter_table('aiyl_aimak', schema=None) as batch_op:
        batch_op.add_column(sa.Column('district_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('search_key', sa.String(length=500), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_aiyl_aimak_district_id'), ['district_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_aiyl_aimak_district_id_district'), 'district', ['district_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('event_invite', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assisted_by', sa.BigInteger(), nullable=True))

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registered_by', sa.BigInteger(), nullable=True))

    with op.batch_alter_table('village', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_key', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('link_code', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_village_link_code'), ['link_code'])

    # Places already loaded become searchable at once.
    connection = op.get_bind()
    for table in ("aiyl_aimak", "village"):
        rows = connection.execute(sa.text(f"SELECT id, name_ky, name_ru FROM {table}")).all()
        for row_id, name_ky, name_ru in rows:
            connection.execute(sa.text(f"UPDATE {table} SET search_key = :key WHERE id = :id"),
                               {"key": search_key(name_ky, name_ru), "id": row_id})

    with op.batch_alter_table('voting_ballot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assisted_by', sa.BigInteger(), nullable=True))

    with op.batch_alter_table('plan_monitoring_answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voice_file_id', sa.String(length=255), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('plan_monitoring_answer', schema=None) as batch_op:
        batch_op.drop_column('voice_file_id')

    with op.batch_alter_table('voting_ballot', schema=None) as batch_op:
        batch_op.drop_column('assisted_by')

    with op.batch_alter_table('village', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_village_link_code'), type_='unique')
        batch_op.drop_column('link_code')
        batch_op.drop_column('search_key')

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('registered_by')

    with op.batch_alter_table('event_invite', schema=None) as batch_op:
        batch_op.drop_column('assisted_by')

    with op.batch_alter_table('aiyl_aimak', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_aiyl_aimak_district_id_district'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_aiyl_aimak_district_id'))
        batch_op.drop_column('search_key')
        batch_op.drop_column('district_id')

    with op.batch_alter_table('district', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_district_region_id'))

    op.drop_table('district')
    op.drop_table('region')
