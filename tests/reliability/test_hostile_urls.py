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


def test_gcs_credentials_missing_what_gcsfs_needs_are_value_errors() -> None:
    # Were a KeyError ('refresh_token') from gcsfs, for the URL "gcs://e30=@bucket" ({}) among others.
    import base64
    import json

    from minimalkv_fsspec.net.gcstore import GoogleCloudStore

    private = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-canary\n-----END PRIVATE KEY-----\n"
    for info in ({}, {"client_id": "x"}, {"type": "service_account", "private_key": private}, [1, 2]):
        text = base64.urlsafe_b64encode(json.dumps(info).encode()).decode()
        with pytest.raises(ValueError, match="credentials") as raised:
            get_store_from_url(f"gcs://{text}@bucket?endpoint_url=http://127.0.0.1:1")
        assert "canary" not in str(raised.value)
        if isinstance(info, dict):
            with pytest.raises(ValueError, match="credentials lack"):
                GoogleCloudStore(info, "bucket", endpoint_url="http://127.0.0.1:1")
