"""Migration from a filesystem store to S3 (moto) and to SQL, interrupted half-way and resumed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from minimalkv_fsspec import get_store_from_url
from minimalkv_fsspec.fs import FilesystemStore
from minimalkv_fsspec.migrate import MigrationInterrupted, migrate


class InterruptedFilesystemStore(FilesystemStore):
    """A filesystem store whose reads stop with Ctrl-C after *after* values were opened."""

    after = 10**9
    opened = 0

    def _open(self, key: str) -> IO[bytes]:  # type: ignore[override]
        type(self).opened += 1
        if type(self).opened > self.after:
            raise KeyboardInterrupt
        return super()._open(key)


@pytest.fixture
def source(tmp_path: Path) -> Iterator[InterruptedFilesystemStore]:
    store = InterruptedFilesystemStore(str(tmp_path / "source"))
    for number in range(40):
        store.put(f"key{number:02d}", os.urandom(number * 97))
    store.put("large", os.urandom(6 * 1024 * 1024))  # a multipart upload on S3
    InterruptedFilesystemStore.opened = 0
    yield store
    InterruptedFilesystemStore.after = 10**9


@pytest.fixture(params=["s3", "sqlite", "postgresql"])
def dest(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "s3":
        moto = request.getfixturevalue("moto_server")
        host = moto["endpoint_url"].split("://", 1)[1]
        bucket = f"migrate-{uuid.uuid4().hex[:12]}"
        url = f"s3://testing:testing@{host}/{bucket}?is_secure=false&force_bucket_suffix=false&create_if_missing=true"
    elif request.param == "sqlite":
        url = f"sql+sqlite:///{tmp_path}/kv.db?table=migrated"
    else:
        server = request.getfixturevalue("postgres_server")
        url = f"sql+{server['url']}?table=migrated_{uuid.uuid4().hex[:8]}"
    store = get_store_from_url(url)
    yield store
    store.delete_many(store.keys())
    store.close()


def test_interrupted_migration_resumes_to_identical_contents(source: InterruptedFilesystemStore, dest: Any) -> None:
    expected = {key: source.get(key) for key in source.keys()}
    InterruptedFilesystemStore.opened = 0
    InterruptedFilesystemStore.after = 20
    with pytest.raises(MigrationInterrupted) as caught:
        migrate(source, dest, workers=4)
    partial = caught.value.report
    assert 0 < partial.copied < len(expected)
    for key in dest.keys():
        assert dest.get(key) == expected[key], f"{key} is not whole after the interruption"

    InterruptedFilesystemStore.after = 10**9
    report = migrate(source, dest, workers=4, verify=True)
    assert report.ok
    assert report.skipped >= partial.copied
    assert report.copied + report.skipped == len(expected)
    assert sorted(dest.keys()) == sorted(expected)
    assert dest.get_many(list(expected)) == expected
