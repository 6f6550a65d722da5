"""Exceptions raised by minimalkv_fsspec.

The hierarchy follows minimalkv's error contract, so code that catches the
built-in exceptions keeps working::

    ValueError
    ├── InvalidKeyError          a key outside the store's keyspace
    └── StoreUrlError            a malformed store URL or unknown scheme
        └── BackendNotInstalledError   (also an ImportError) a missing optional package
    OSError
    └── BackendError             the backend failed for a reason other than "not found"
        ├── BucketNotFoundError  the store's bucket, container or root does not exist
        └── StoreAccessDeniedError   (also a PermissionError) credentials refused
    KeyError                     the key is not in the store (raised as plain KeyError)

A missing key is always a plain :class:`KeyError` carrying the key. Every other
failure of a backend reaches the caller as an :class:`OSError` (often a
:class:`BackendError`) with the original exception chained as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendNotInstalledError",
    "BucketNotFoundError",
    "InvalidKeyError",
    "SecretsNotTransferredWarning",
    "StoreAccessDeniedError",
    "StoreUrlError",
]


class InvalidKeyError(ValueError):
    """A key is not valid for the store it was given to."""


class StoreUrlError(ValueError):
    """A store URL is malformed, names an unknown scheme or carries a bad option."""


class BackendNotInstalledError(StoreUrlError, ImportError):
    """The package that a store needs is not installed; the message names the extra."""


class BackendError(OSError):
    """The backend failed; the original exception is chained as ``__cause__``."""


class BucketNotFoundError(BackendError):
    """The bucket or container (or the root directory) of a store does not exist."""


class StoreAccessDeniedError(BackendError, PermissionError):
    """The backend refused the credentials, or they lack a permission the store needs."""


class SecretsNotTransferredWarning(UserWarning):
    """A store was unpickled where its credentials are unknown; it uses the default chain."""
