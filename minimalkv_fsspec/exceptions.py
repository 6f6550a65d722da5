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
        ├── StoreAccessDeniedError   (also a PermissionError) credentials refused
        ├── BackendUnavailableError  (also a ConnectionError) server down or connection lost
        └── BackendTimeoutError      (also a TimeoutError) no answer within the timeout
    KeyError                     the key is not in the store (raised as plain KeyError)

A missing key is always a plain :class:`KeyError` carrying the key. Every other
failure of a backend reaches the caller as an :class:`OSError` (often a
:class:`BackendError`) with the original exception chained as ``__cause__``.
The message of a :class:`BackendError` names the backend (``Redis``,
``PostgreSQL``, ``S3``, ...), where it is, and the operation or key that failed.
A store keeps working after an outage: the next call reconnects.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BackendError",
    "BackendNotInstalledError",
    "BackendTimeoutError",
    "BackendUnavailableError",
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


class BackendUnavailableError(BackendError, ConnectionError):
    """The backend could not be reached, or the connection to it broke (server down, network)."""


class BackendTimeoutError(BackendError, TimeoutError):
    """The backend did not answer within the store's connect or read timeout."""


class SecretsNotTransferredWarning(UserWarning):
    """A store was unpickled where its credentials are unknown; it uses the default chain."""


# Driver exception types that mean "the connection failed or broke", by name: the
# drivers are optional imports, and their classes rarely derive from ConnectionError.
_CONNECTION_ERROR_NAMES = frozenset(
    {
        "ServiceRequestError",
        "ServiceResponseError",
        "ClientOSError",
        "ClientPayloadError",
        "ServerDisconnectedError",
        "IncompleteRead",
        "ProtocolError",
        "InterfaceError",
    }
)


def _causes(exc: BaseException) -> list[BaseException]:
    """Return *exc* and the exceptions chained to it (at most 20)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 20 and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _failure_class(exc: BaseException) -> type[BackendError]:
    """Return the :class:`BackendError` subclass that describes the driver error *exc*."""
    chain = _causes(exc)
    names = [{cls.__name__ for cls in type(error).__mro__} for error in chain]
    if any(isinstance(error, TimeoutError) for error in chain) or any(
        "Timeout" in name for group in names for name in group
    ):
        return BackendTimeoutError
    if any(isinstance(error, ConnectionError) for error in chain) or any(
        "Connect" in name or name in _CONNECTION_ERROR_NAMES for group in names for name in group
    ):
        return BackendUnavailableError
    return BackendError


def _describe(operation: str, keys: Sequence[str]) -> str:
    """Name an operation and its keys for an error message: ``put_many of 'a' and 99 more keys``."""
    if not keys:
        return operation
    if len(keys) == 1:
        return f"{operation} of {keys[0]!r}"
    return f"{operation} of {keys[0]!r} and {len(keys) - 1} more keys"
