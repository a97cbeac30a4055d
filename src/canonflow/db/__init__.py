"""Database adapter: SQLAlchemy models, engine and sessions, Alembic migrations."""
