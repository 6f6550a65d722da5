"""The URL wrappers that ship with minimalkv_fsspec.

Imported by :mod:`minimalkv_fsspec.urls` the first time a wrapper is looked up.
Each is registered with :func:`~minimalkv_fsspec.urls.register_wrapper` as
``factory(store, argument)``, *argument* being the text in ``name(argument)``:

``readonly``
    :class:`~minimalkv_fsspec.decorator.ReadOnlyDecorator` (an argument is ignored,
    as in minimalkv).
``urlencode``
    :class:`~minimalkv_fsspec.decorator.URLEncodeKeysDecorator` (an argument is ignored).
``prefix(P)``
    :class:`~minimalkv_fsspec.decorator.PrefixDecorator` with the prefix ``P``.
``hmac(ENV_NAME)``
    :class:`~minimalkv_fsspec.crypt.HMACDecorator` with the secret read from the
    environment variable ``ENV_NAME`` (UTF-8), never from the URL itself: URLs
    end up in logs and shell histories.
``hash`` / ``hash(ALGORITHM)``
    :class:`~minimalkv_fsspec.idgen.HashDecorator` with ``hashlib.<ALGORITHM>``
    (``sha1`` by default).
``uuid``
    :class:`~minimalkv_fsspec.idgen.UUIDDecorator`.

A cache has no wrapper: the cache store would need a URL of its own inside the
fragment. Build :class:`~minimalkv_fsspec.cache.CacheDecorator` in Python.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

from minimalkv_fsspec.exceptions import StoreUrlError
from minimalkv_fsspec.urls import register_wrapper

__all__: list[str] = []

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _readonly(store: Any, argument: str | None) -> Any:
    from minimalkv_fsspec.decorator import ReadOnlyDecorator

    return ReadOnlyDecorator(store)


def _urlencode(store: Any, argument: str | None) -> Any:
    from minimalkv_fsspec.decorator import URLEncodeKeysDecorator

    return URLEncodeKeysDecorator(store)


def _prefix(store: Any, argument: str | None) -> Any:
    from minimalkv_fsspec.decorator import PrefixDecorator

    if not argument:
        raise StoreUrlError("the prefix wrapper needs the prefix: '#wrap:prefix(tenant1-)'")
    try:
        return PrefixDecorator(argument, store)
    except ValueError as exc:
        raise StoreUrlError(f"invalid prefix in URL wrapper: {exc}") from exc


def _hmac(store: Any, argument: str | None) -> Any:
    from minimalkv_fsspec.crypt import HMACDecorator

    if not argument or not _ENV_NAME.match(argument):
        # Never echo the argument: it may be a secret pasted by mistake.
        raise StoreUrlError(
            "the hmac wrapper takes the name of an environment variable holding the secret, "
            "as in '#wrap:hmac(MY_HMAC_SECRET)'; secrets are never read from the URL itself"
        )
    secret = os.environ.get(argument)
    if not secret:
        raise StoreUrlError("the environment variable named in the hmac wrapper is not set or is empty")
    return HMACDecorator(secret.encode("utf-8"), store)


def _hash(store: Any, argument: str | None) -> Any:
    from minimalkv_fsspec.idgen import HashDecorator

    algorithm = (argument or "sha1").strip().lower()
    if algorithm not in hashlib.algorithms_guaranteed or algorithm.startswith("shake"):
        raise StoreUrlError(
            f"unknown hash {algorithm!r} for the hash wrapper; use one of: "
            + ", ".join(sorted(name for name in hashlib.algorithms_guaranteed if not name.startswith("shake")))
        )
    return HashDecorator(store, hashfunc=getattr(hashlib, algorithm))


def _uuid(store: Any, argument: str | None) -> Any:
    from minimalkv_fsspec.idgen import UUIDDecorator

    return UUIDDecorator(store)


register_wrapper("readonly", _readonly, clobber=True)
register_wrapper("urlencode", _urlencode, clobber=True)
register_wrapper("prefix", _prefix, clobber=True)
register_wrapper("hmac", _hmac, clobber=True)
register_wrapper("hash", _hash, clobber=True)
register_wrapper("uuid", _uuid, clobber=True)
