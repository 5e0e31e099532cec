"""helpdesk: members, questions, exchange, FAQ (with full-text search)

Full-text search over faq_entry.search_text (normalised stems, see services.faq):
- SQLite: an external-content FTS5 table ``faq_fts`` with prefix indexes, kept in step by three triggers.
  A later batch migration of faq_entry on SQLite recreates the table and drops the triggers: re-create them.
- PostgreSQL: a GIN index over ``to_tsvector('simple', search_text)`` (the 'simple' configuration lower-cases
  and does not stem; stems come from Python, the same for Kyrgyz and Russian).

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23 01:33:32.328518
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0005'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('helpdesk_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('aiyl_aimak_id', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.String(length=16), nullable=False),
    sa.Column('granted_by', sa.BigInteger(), nullable=True),
    sa.Column('granted_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['aiyl_aimak_id'], ['aiyl_aimak.id'], name=op.f('fk_helpdesk_member_aiyl_aimak_id_aiyl_aimak'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_helpdesk_member')),
    sa.UniqueConstraint('telegram_id', name=op.f('uq_helpdesk_member_telegram_id'))
    )
    op.create_table('helpdesk_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asker_id', sa.Integer(), nullable=True),
    sa.Column('aiyl_aimak_id', sa.Integer(), nullable=True),
    sa.Column('topic', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lawyer_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('queued_since', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('taken_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_answer_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_since', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_seconds', sa.Float(), nullable=False),
    sa.Column('first_answer_seconds', sa.Float(), nullable=True),
    sa.Column('close_seconds', sa.Float(), nullable=True),
    sa.Column('followups', sa.Integer(), nullable=False),
    sa.Column('helped', sa.Boolean(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('reminded_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('group_message_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('rating IS NULL OR (rating >= 1 AND rating <= 5)', name=op.f('ck_helpdesk_question_rating_range')),
    sa.ForeignKeyConstraint(['aiyl_aimak_id'], ['aiyl_aimak.id'], name=op.f('fk_helpdesk_question_aiyl_aimak_id_aiyl_aimak'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['asker_id'], ['person.id'], name=op.f('fk_helpdesk_question_asker_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_helpdesk_question'))
    )
    with op.batch_alter_table('helpdesk_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_helpdesk_question_asker_id'), ['asker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_helpdesk_question_lawyer_id'), ['lawyer_id'], unique=False)
        batch_op.create_index('ix_helpdesk_question_status_created', ['status', 'created_at'], unique=False)

    op.create_table('faq_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=True),
    sa.Column('topic', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('law_refs', sa.Text(), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('published_by', sa.BigInteger(), nullable=True),
    sa.Column('published_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['helpdesk_question.id'], name=op.f('fk_faq_entry_question_id_helpdesk_question'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entry')),
    sa.UniqueConstraint('question_id', 'language', name=op.f('uq_faq_entry_question_id'))
    )
    with op.batch_alter_table('faq_entry', schema=None) as batch_op:
        batch_op.create_index('ix_faq_entry_topic_language', ['topic', 'language'], unique=False)

    op.create_table('helpdesk_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('author', sa.String(length=8), nullable=False),
    sa.Column('author_telegram_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['helpdesk_question.id'], name=op.f('fk_helpdesk_entry_question_id_helpdesk_question'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_helpdesk_entry'))
    )
    with op.batch_alter_table('helpdesk_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_helpdesk_entry_question_id'), ['question_id'], unique=False)

    create_search()


def create_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE faq_fts USING fts5(search_text, content='faq_entry', content_rowid='id', "
                   "tokenize='unicode61 remove_diacritics 0', prefix='2 3 4 5')")
        op.execute("CREATE TRIGGER faq_entry_fts_insert AFTER INSERT ON faq_entry BEGIN "
                   "INSERT INTO faq_fts(rowid, search_text) VALUES (new.id, new.search_text); END")
        op.execute("CREATE TRIGGER faq_entry_fts_delete AFTER DELETE ON faq_entry BEGIN "
                   "INSERT INTO faq_fts(faq_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END")
        op.execute("CREATE TRIGGER faq_entry_fts_update AFTER UPDATE OF search_text ON faq_entry BEGIN "
                   "INSERT INTO faq_fts(faq_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
                   "INSERT INTO faq_fts(rowid, search_text) VALUES (new.id, new.search_text); END")
    else:
        op.execute("CREATE INDEX ix_faq_entry_search ON faq_entry USING gin (to_tsvector('simple', search_text))")


def drop_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("faq_entry_fts_insert", "faq_entry_fts_delete", "faq_entry_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS faq_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_faq_entry_search")


def downgrade() -> None:
    drop_search()
    with op.batch_alter_table('helpdesk_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_helpdesk_entry_question_id'))

    op.drop_table('helpdesk_entry')
    with op.batch_alter_table('faq_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_faq_entry_topic_language')

    op.drop_table('faq_entry')
    with op.batch_alter_table('helpdesk_question', schema=None) as batch_op:
        batch_op.drop_index('ix_helpdesk_question_status_created')
        batch_op.drop_index(batch_op.f('ix_helpdesk_question_lawyer_id'))
        batch_op.drop_index(batch_op.f('ix_helpdesk_question_asker_id'))

    op.drop_table('helpdesk_question')
    op.drop_table('helpdesk_member')
