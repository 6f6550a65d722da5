"""The URL wrappers that ship with minimalkv_fsspec: ``readonly`` and ``urlencode``.

Imported by :mod:`minimalkv_fsspec.urls` the first time a wrapper is looked up.
"""

from __future__ import annotations

from typing import Any

from minimalkv_fsspec.urls import register_wrapper


def _readonly(store: Any, argument: str | None) -> Any:
    from minimalkv_fsspec.decorator import ReadOnlyDecorator

    return ReadOnlyDecorator(store)


def _urlencode(store: Any, argument: str | None) -> Any:
    from minimalkv_fsspec.decorator import URLEncodeKeysDecorator

    return URLEncodeKeysDecorator(store)


register_wrapper("readonly", _readonly, clobber=True)
register_wrapper("urlencode", _urlencode, clobber=True)
