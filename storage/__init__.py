"""Storage: SQLAlchemy models, queries and Alembic migrations (SQLite and PostgreSQL)."""
