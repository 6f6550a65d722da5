"""Store implementations: ``adapters`` over fsspec filesystems, ``native`` over their own clients."""
