"""The state store: SQLite through SQLAlchemy, the only package that imports sqlalchemy.

``open_store`` (engine.py) opens a database at head; queries live in listings.py,
listing_states.py (every listing in one read), remote.py (what Hemnet reported), outbox.py,
files.py, events.py, holds.py and meta.py; migrate.py changes the schema.
"""
