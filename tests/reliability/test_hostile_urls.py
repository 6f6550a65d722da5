"""Hostile store URLs and parameters: bad input is a ValueError."""

from __future__ import annotations

from pathlib import Path

import pytest

from minimalkv_fsspec import get_store_from_url

# -- regressions the fuzz found ---------------------------------------------------------------------------------


def test_sql_urls_a_database_cannot_use_are_value_errors(tmp_path: Path) -> None:
    # Were sqlalchemy's NoSuchModuleError and ArgumentError, and the driver's TypeError.
    for url in ("sql+nosuchdb://host/db", "sql+sqlit+pysqlite:///x.db", "sql+sqlite://user:S3cret-pw@host/x.db",
                "sql+mysql+pymysql://user:S3cret-pw@127.0.0.1:1/kv?no_such_option=1"):
        with pytest.raises(ValueError, match="SQL store URL|database driver refused") as info:
            get_store_from_url(url)
        assert "S3cret-pw" not in str(info.value)


def test_table_names_with_a_final_newline_are_refused() -> None:
    # A "$" in the pattern let "kv\n" through; so was an Azure container name, and a scheme.
    from minimalkv_fsspec.backends.native.sql import check_table_name

    with pytest.raises(ValueError, match="table name"):
        check_table_name("kv\n")
    with pytest.raises(ValueError, match="container name"):
        get_store_from_url("azure://acct:a2V5@abc%0A?blob_endpoint=http://127.0.0.1:1/acct")
