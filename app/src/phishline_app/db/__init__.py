"""The feedback store: SQLAlchemy models and engine setup (SQLite by default, PostgreSQL too)."""
