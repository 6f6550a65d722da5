"""Decorators that choose keys: from a hash of the value, or a UUID.

``put(None, data)`` and ``put_file(None, file)`` store the value under a generated
key and return it; any other key is used as given (:class:`HashDecorator`) or
passed through the template (:class:`UUIDDecorator`). Reading is not changed:
read a value with the key that ``put`` returned.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from minimalkv_fsspec._store import CHUNK_SIZE, KeyValueStore, _check_value
from minimalkv_fsspec.decorator import TTL, StoreDecorator

if TYPE_CHECKING:
    from hashlib import _Hash

__all__ = ["HashDecorator", "UUIDDecorator"]


class HashDecorator(StoreDecorator):
    """Store values under the hex digest of their content (content addressing).

    ``put(None, data)`` stores *data* under ``template.format(hexdigest)`` and
    returns that key; storing the same value twice gives the same key.
    ``put_file(None, file)`` hashes the file as it streams, never holding it in
    memory: a filename is read once to hash it, then handed to the wrapped store
    (which may move it, as :class:`~minimalkv_fsspec.fs.FilesystemStore` does); a
    seekable file object is read once to hash it, rewound and handed down; any
    other file object is copied to a temporary file while it is hashed.

    Parameters
    ----------
    store
        The store to wrap.
    hashfunc
        The hash constructor, :func:`hashlib.sha1` by default (as in minimalkv).
    template
        A :meth:`str.format` template turning the hex digest into the key.

    Examples
    --------
    >>> from minimalkv_fsspec.memory import DictStore
    >>> store = HashDecorator(DictStore(), template="blob-{}")
    >>> store.put(None, b"hello")
    'blob-aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d'
    """

    def __init__(
        self,
        store: KeyValueStore,
        hashfunc: Callable[..., _Hash] = hashlib.sha1,
        template: str = "{}",
    ) -> None:
        self.hashfunc = hashfunc
        self._template = template
        super().__init__(store)

    def __repr__(self) -> str:
        name = getattr(self.hashfunc, "__name__", repr(self.hashfunc)).replace("openssl_", "")
        return f"{type(self).__name__}({self._dstore!r}, hashfunc={name}, template={self._template!r})"

    @property
    def template(self) -> str:
        """The template that turns a hex digest into a key."""
        return self._template

    def _key_for(self, digest: _Hash) -> str:
        return self._template.format(digest.hexdigest())

    def put(self, key: str | None, data: bytes, ttl_secs: TTL | None = None) -> str:
        """Store *data* under *key*, or under the key made from its hash if *key* is None.

        Parameters
        ----------
        key
            The key, or None to use ``template.format(hexdigest of data)``.
        data
            The value.
        ttl_secs
            The time to live, if the wrapped store supports one.

        Returns
        -------
        str
            The key the value is stored under.

        Raises
        ------
        ValueError
            If the key (given or generated) or *ttl_secs* is not valid.
        OSError
            If *data* is not ``bytes`` or the backend fails.
        """
        if key is None:
            _check_value(data)
            key = self._key_for(self.hashfunc(data))
        return super().put(key, data, ttl_secs)

    def put_file(self, key: str | None, file: str | BinaryIO, ttl_secs: TTL | None = None) -> str:
        """Store the contents of *file* under *key*, or under the key made from its hash.

        Parameters
        ----------
        key
            The key, or None to use ``template.format(hexdigest of the contents)``.
        file
            A binary file object read from its current position, or a filename
            (which the wrapped store may move).
        ttl_secs
            The time to live, if the wrapped store supports one.

        Returns
        -------
        str
            The key the value is stored under.

        Raises
        ------
        ValueError
            If the key (given or generated) or *ttl_secs* is not valid.
        OSError
            If the file or the backend fails.
        """
        if key is not None:
            return super().put_file(key, file, ttl_secs)
        self._check_ttl(ttl_secs)
        if isinstance(file, str):
            digest = self.hashfunc()
            with open(file, "rb") as source:
                _hash_to_end(source, digest)
            return super().put_file(self._key_for(digest), file, ttl_secs)
        if _is_seekable(file):
            start = file.tell()
            digest = self.hashfunc()
            _hash_to_end(file, digest)
            file.seek(start)
            return super().put_file(self._key_for(digest), file, ttl_secs)
        return self._put_spooled(file, ttl_secs)

    def _put_spooled(self, file: IO[bytes], ttl_secs: TTL | None) -> str:
        """Copy *file* to a temporary file while hashing it, then store that file."""
        digest = self.hashfunc()
        fd, temp = tempfile.mkstemp(prefix="minimalkv-hash-")
        try:
            with open(fd, "wb") as spool:
                while chunk := file.read(CHUNK_SIZE):
                    digest.update(chunk)
                    spool.write(chunk)
            # The wrapped store may move the temporary file instead of copying it.
            return super().put_file(self._key_for(digest), temp, ttl_secs)
        finally:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass


class UUIDDecorator(StoreDecorator):
    """Store values under generated UUIDs; every key written passes through a template.

    ``put(None, data)`` (or any false key) generates ``str(uuid.<uuidfunc>())``.
    Every key written by ``put``, ``put_file`` and ``put_many``, generated or
    given, becomes ``template.format(key)``, which is returned. Reads use the
    returned key as it is.

    Parameters
    ----------
    store
        The store to wrap.
    template
        A :meth:`str.format` template applied to every key written.

    Attributes
    ----------
    uuidfunc
        The name of the :mod:`uuid` function that makes keys: ``"uuid1"`` (as in
        minimalkv; it embeds the host's MAC address and the time) or, in a
        subclass, ``"uuid4"`` (random).
    """

    uuidfunc = "uuid1"

    def __init__(self, store: KeyValueStore, template: str = "{}") -> None:
        self._template = template
        super().__init__(store)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._dstore!r}, template={self._template!r})"

    @property
    def template(self) -> str:
        """The template applied to every key written."""
        return self._template

    def _key_for(self, key: str | None) -> str:
        if not key:
            key = str(getattr(uuid, self.uuidfunc)())
        return self._template.format(key)

    def put(self, key: str | None, data: bytes, ttl_secs: TTL | None = None) -> str:
        """Store *data* under ``template.format(key)``, generating a UUID if *key* is None.

        Returns
        -------
        str
            The key the value is stored under.

        Raises
        ------
        ValueError
            If the resulting key or *ttl_secs* is not valid.
        OSError
            If *data* is not ``bytes`` or the backend fails.
        """
        return super().put(self._key_for(key), data, ttl_secs)

    def put_file(self, key: str | None, file: str | BinaryIO, ttl_secs: TTL | None = None) -> str:
        """Store *file* under ``template.format(key)``, generating a UUID if *key* is None.

        Returns
        -------
        str
            The key the value is stored under.

        Raises
        ------
        ValueError
            If the resulting key or *ttl_secs* is not valid.
        OSError
            If the file or the backend fails.
        """
        return super().put_file(self._key_for(key), file, ttl_secs)

    def put_many(self, items: Mapping[str, bytes], ttl_secs: TTL | None = None) -> list[str]:
        """Store every value of *items* under ``template.format(key)``, in one bulk call.

        Returns
        -------
        list of str
            The keys the values are stored under, in the mapping's order.

        Raises
        ------
        ValueError
            If a resulting key or *ttl_secs* is not valid (checked before anything is written).
        OSError
            If a value is not ``bytes`` or the backend fails.
        """
        return super().put_many({self._key_for(key): data for key, data in items.items()}, ttl_secs)


def _is_seekable(file: Any) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def _hash_to_end(file: IO[bytes], digest: _Hash) -> None:
    while chunk := file.read(CHUNK_SIZE):
        digest.update(chunk)
