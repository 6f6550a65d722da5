"""minimalkv's package for database stores (kept for compatibility).

:mod:`minimalkv_fsspec.db.sql` holds :class:`SQLAlchemyStore`. MongoDB
(minimalkv's ``db.mongo``) is not provided; see the documentation.
"""
