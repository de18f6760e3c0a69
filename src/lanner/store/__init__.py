"""Persistence: the database engine, the schema, and its migrations.

SQL lives here and nowhere else.  ``engine`` opens SQLite or PostgreSQL with the
settings each needs; ``tables`` declares the schema the code expects; ``migrations``
holds the append-only Alembic scripts that build it; ``migrator`` applies them under
a lock and records each in ``lanner_schema_history``; ``schema_guard`` decides, when a
component starts, whether it may run against the database as it is.
"""
