"""PostgreSQL backend: the same Store roles as SQLite, shared by many replicas.

Needs the ``postgres`` extra (psycopg 3 with its pool, pgvector). ``KITH_DATABASE_URL``
selects it; SQLite stays the embedded default.
"""
