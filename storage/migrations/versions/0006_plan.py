"""plan: joint action plan, groups, monitoring, followers, surveys

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-23 01:40:15.341320
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('aiyl_aimak_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('council_approved_on', sa.Date(), nullable=True),
    sa.Column('council_decision', sa.String(length=200), nullable=True),
    sa.Column('remind_after_days', sa.Integer(), nullable=False),
    sa.Column('escalate_after_days', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['aiyl_aimak_id'], ['aiyl_aimak.id'], name=op.f('fk_plan_aiyl_aimak_id_aiyl_aimak'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['voting_round.id'], name=op.f('fk_plan_round_id_voting_round'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan')),
    sa.UniqueConstraint('round_id', name=op.f('uq_plan_round_id'))
    )
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_aiyl_aimak_id'), ['aiyl_aimak_id'], unique=False)

    op.create_table('plan_follower',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('followed_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_plan_follower_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_plan_follower_plan_id_plan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'person_id', name=op.f('pk_plan_follower'))
    )
    with op.batch_alter_table('plan_follower', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_follower_person_id'), ['person_id'], unique=False)

    op.create_table('plan_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('mandate_ref', sa.String(length=200), nullable=True),
    sa.Column('mandate_on', sa.Date(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('initiative', 'monitoring')", name=op.f('ck_plan_group_kind')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_plan_group_plan_id_plan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_group')),
    sa.UniqueConstraint('plan_id', 'kind', 'name', name='uq_plan_group_name')
    )
    with op.batch_alter_table('plan_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_group_plan_id'), ['plan_id'], unique=False)

    op.create_table('plan_priority',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title_ky', sa.String(length=200), nullable=False),
    sa.Column('title_ru', sa.String(length=200), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('competence', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_plan_priority_plan_id_plan'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['problem_id'], ['voting_problem.id'], name=op.f('fk_plan_priority_problem_id_voting_problem'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_priority')),
    sa.UniqueConstraint('plan_id', 'position', name='uq_plan_priority_position')
    )
    with op.batch_alter_table('plan_priority', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_priority_plan_id'), ['plan_id'], unique=False)

    op.create_table('plan_survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=16), nullable=False),
    sa.Column('first_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('every_months', sa.Integer(), nullable=True),
    sa.Column('times', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("service IN ('water', 'school', 'health_post', 'roads')", name=op.f('ck_plan_survey_service')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_plan_survey_plan_id_plan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_survey'))
    )
    with op.batch_alter_table('plan_survey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_survey_plan_id'), ['plan_id'], unique=False)

    op.create_table('plan_activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('priority_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('responsible_kind', sa.String(length=20), nullable=False),
    sa.Column('responsible_person_id', sa.Integer(), nullable=True),
    sa.Column('responsible_name', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('expected_result', sa.Text(), nullable=False),
    sa.Column('indicators', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('monitor_every_months', sa.Integer(), nullable=True),
    sa.Column('monitor_from', sa.Date(), nullable=True),
    sa.Column('monitor_dates', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status_changed_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("responsible_kind IN ('aiyl_okmotu', 'council', 'initiative_group', 'person')", name=op.f('ck_plan_activity_responsible_kind')),
    sa.CheckConstraint("status IN ('planned', 'in_progress', 'done', 'stalled', 'cancelled')", name=op.f('ck_plan_activity_status')),
    sa.CheckConstraint('due_on >= starts_on', name=op.f('ck_plan_activity_dates')),
    sa.CheckConstraint('progress BETWEEN 0 AND 100', name=op.f('ck_plan_activity_progress')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_plan_activity_plan_id_plan'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['priority_id'], ['plan_priority.id'], name=op.f('fk_plan_activity_priority_id_plan_priority'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['responsible_person_id'], ['person.id'], name=op.f('fk_plan_activity_responsible_person_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_activity'))
    )
    with op.batch_alter_table('plan_activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_activity_plan_id'), ['plan_id'], unique=False)

    op.create_table('plan_group_member',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('added_by', sa.BigInteger(), nullable=True),
    sa.Column('added_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['plan_group.id'], name=op.f('fk_plan_group_member_group_id_plan_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_plan_group_member_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'person_id', name=op.f('pk_plan_group_member'))
    )
    with op.batch_alter_table('plan_group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_group_member_person_id'), ['person_id'], unique=False)

    op.create_table('plan_survey_occasion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('asked_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['plan_survey.id'], name=op.f('fk_plan_survey_occasion_survey_id_plan_survey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_survey_occasion')),
    sa.UniqueConstraint('survey_id', 'number', name='uq_plan_survey_occasion_number')
    )
    with op.batch_alter_table('plan_survey_occasion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_survey_occasion_survey_id'), ['survey_id'], unique=False)

    op.create_table('plan_funding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('planned_som', sa.BigInteger(), nullable=False),
    sa.Column('spent_som', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('planned_som >= 0 AND spent_som >= 0', name=op.f('ck_plan_funding_amounts')),
    sa.ForeignKeyConstraint(['activity_id'], ['plan_activity.id'], name=op.f('fk_plan_funding_activity_id_plan_activity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_funding')),
    sa.UniqueConstraint('activity_id', 'source', name='uq_plan_funding_source')
    )
    with op.batch_alter_table('plan_funding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_funding_activity_id'), ['activity_id'], unique=False)

    op.create_table('plan_monitoring',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('due_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['plan_activity.id'], name=op.f('fk_plan_monitoring_activity_id_plan_activity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_monitoring')),
    sa.UniqueConstraint('activity_id', 'due_at', name='uq_plan_monitoring_due')
    )
    with op.batch_alter_table('plan_monitoring', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_monitoring_activity_id'), ['activity_id'], unique=False)

    op.create_table('plan_status_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('old_status', sa.String(length=16), nullable=False),
    sa.Column('new_status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('by_person_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['plan_activity.id'], name=op.f('fk_plan_status_change_activity_id_plan_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['by_person_id'], ['person.id'], name=op.f('fk_plan_status_change_by_person_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_status_change'))
    )
    with op.batch_alter_table('plan_status_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_status_change_activity_id'), ['activity_id'], unique=False)

    op.create_table('plan_survey_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('occasion_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('age_band', sa.String(length=16), nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('answered_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_plan_survey_answer_score')),
    sa.ForeignKeyConstraint(['occasion_id'], ['plan_survey_occasion.id'], name=op.f('fk_plan_survey_answer_occasion_id_plan_survey_occasion'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_plan_survey_answer_person_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_id'], ['plan_survey.id'], name=op.f('fk_plan_survey_answer_survey_id_plan_survey'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_plan_survey_answer_village_id_village'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_survey_answer')),
    sa.UniqueConstraint('occasion_id', 'person_id', name='uq_plan_survey_answer_person')
    )
    with op.batch_alter_table('plan_survey_answer', schema=None) as batch_op:
        batch_op.create_index('ix_plan_survey_answer_survey', ['survey_id', 'village_id'], unique=False)

    op.create_table('plan_monitoring_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occasion_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('photo_file_id', sa.String(length=255), nullable=True),
    sa.Column('answered_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('percent BETWEEN 0 AND 100', name=op.f('ck_plan_monitoring_answer_percent')),
    sa.ForeignKeyConstraint(['activity_id'], ['plan_activity.id'], name=op.f('fk_plan_monitoring_answer_activity_id_plan_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['occasion_id'], ['plan_monitoring.id'], name=op.f('fk_plan_monitoring_answer_occasion_id_plan_monitoring'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_plan_monitoring_answer_person_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_monitoring_answer')),
    sa.UniqueConstraint('occasion_id', 'person_id', name='uq_plan_monitoring_answer_person')
    )
    with op.batch_alter_table('plan_monitoring_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_monitoring_answer_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_monitoring_answer_occasion_id'), ['occasion_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('plan_monitoring_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_monitoring_answer_occasion_id'))
        batch_op.drop_index(batch_op.f('ix_plan_monitoring_answer_activity_id'))

    op.drop_table('plan_monitoring_answer')
    with op.batch_alter_table('plan_survey_answer', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_survey_answer_survey')

    op.drop_table('plan_survey_answer')
    with op.batch_alter_table('plan_status_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_status_change_activity_id'))

    op.drop_table('plan_status_change')
    with op.batch_alter_table('plan_monitoring', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_monitoring_activity_id'))

    op.drop_table('plan_monitoring')
    with op.batch_alter_table('plan_funding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_funding_activity_id'))

    op.drop_table('plan_funding')
    with op.batch_alter_table('plan_survey_occasion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_survey_occasion_survey_id'))

    op.drop_table('plan_survey_occasion')
    with op.batch_alter_table('plan_group_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_group_member_person_id'))

    op.drop_table('plan_group_member')
    with op.batch_alter_table('plan_activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_activity_plan_id'))

    op.drop_table('plan_activity')
    with op.batch_alter_table('plan_survey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_survey_plan_id'))

    op.drop_table('plan_survey')
    with op.batch_alter_table('plan_priority', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_priority_plan_id'))

    op.drop_table('plan_priority')
    with op.batch_alter_table('plan_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_group_plan_id'))

    op.drop_table('plan_group')
    with op.batch_alter_table('plan_follower', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_follower_person_id'))

    op.drop_table('plan_follower')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_aiyl_aimak_id'))

    op.drop_table('plan')
