"""SQLAlchemy (async) storage: SQLite through aiosqlite by default, PostgreSQL through asyncpg."""
