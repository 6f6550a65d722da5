"""Read-only file objects returned by :meth:`KeyValueStore.open`.

minimalkv's contract for an opened value: it is seekable, a seek past the end is
allowed and reads ``b""``, a seek to a negative position raises :class:`OSError`,
and every call after :meth:`close` raises :class:`ValueError`. Python's own
:class:`io.BytesIO` and fsspec's buffered files raise :class:`ValueError` on a
negative seek, so both are adapted here.
"""

from __future__ import annotations

import errno
import io
import os
from typing import IO, Any

__all__ = ["BytesValueFile", "StreamValueFile"]


def _negative_seek(position: int) -> OSError:
    return OSError(errno.EINVAL, f"negative seek position {position}")


class BytesValueFile(io.BytesIO):
    """A value held in memory, opened read-only without copying it."""

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        """Move to *offset* relative to *whence*; a negative target raises :class:`OSError`."""
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if whence == os.SEEK_CUR:
            offset, whence = self.tell() + offset, os.SEEK_SET
        elif whence == os.SEEK_END:
            offset, whence = len(self.getbuffer()) + offset, os.SEEK_SET
        if offset < 0:
            raise _negative_seek(offset)
        return super().seek(offset, whence)

    def writable(self) -> bool:
        """Return False: stored values are opened read-only."""
        return False

    def write(self, data: Any, /) -> int:
        """Refuse to write: stored values are opened read-only."""
        raise io.UnsupportedOperation("stored values are opened read-only")

    def truncate(self, size: int | None = None, /) -> int:
        """Refuse to truncate: stored values are opened read-only."""
        raise io.UnsupportedOperation("stored values are opened read-only")


class StreamValueFile(io.BufferedIOBase):
    """Wrap a seekable binary file (an fsspec file, say) with minimalkv's seek contract.

    Parameters
    ----------
    raw
        The underlying readable, seekable binary file; closed with this one.
    size
        The value's length in bytes, if known; used for ``SEEK_END``.
    """

    def __init__(self, raw: IO[bytes], size: int | None = None) -> None:
        super().__init__()
        self._raw = raw
        self._size = size

    def readable(self) -> bool:
        """Return True."""
        self._check_open()
        return True

    def seekable(self) -> bool:
        """Return True."""
        self._check_open()
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        """Read up to *size* bytes (all that is left if *size* is negative or None)."""
        self._check_open()
        return self._raw.read(-1 if size is None else size)

    def read1(self, size: int = -1, /) -> bytes:
        """Read up to *size* bytes with at most one call to the underlying file."""
        return self.read(size)

    def readinto(self, buffer: Any, /) -> int:
        """Read into *buffer*, returning the number of bytes read."""
        self._check_open()
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        view[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        """Return the current position."""
        self._check_open()
        return self._raw.tell()

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        """Move to *offset* relative to *whence*; a negative target raises :class:`OSError`."""
        self._check_open()
        if whence == os.SEEK_CUR:
            target = self._raw.tell() + offset
        elif whence == os.SEEK_END:
            if self._size is None:
                self._size = self._raw.seek(0, os.SEEK_END)
            target = self._size + offset
        elif whence == os.SEEK_SET:
            target = offset
        else:
            raise ValueError(f"invalid whence ({whence})")
        if target < 0:
            raise _negative_seek(target)
        return self._raw.seek(target)

    def close(self) -> None:
        """Close this file and the underlying one."""
        if not self.closed:
            try:
                self._raw.close()
            finally:
                super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
