"""The database adapter: SQLAlchemy models, repositories, the unit of work and migrations.

Works on SQLite (aiosqlite) and PostgreSQL (asyncpg) from the same code.
"""
