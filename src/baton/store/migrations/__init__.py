"""Alembic migrations of the store's schema (append-only; see ``baton.store.migrate``)."""
