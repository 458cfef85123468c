"""Alembic migrations for the Stillpoint schema; run them through ``bot.db.migrate``."""
