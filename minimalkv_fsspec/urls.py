"""Store URLs: parse them once, look the scheme up in one registry, build the store.

A store URL looks like ``scheme://[user[:password]@]host[:port]/path?option=value``.
Wrappers (decorators) can be named in the scheme, ``memory+readonly+urlencode://``
(leftmost is outermost), or in the fragment, ``memory://#wrap:readonly+urlencode``
(rightmost is outermost), but not in both.

Each scheme maps to a store class, imported on first use, which implements two
class methods: ``_url_params(url)`` turns a :class:`StoreUrl` into the keyword
parameters that :func:`url2dict` returns, and ``_from_params(params,
create_if_missing=...)`` builds the store from them. Third-party packages add
schemes with :func:`register_scheme` or the entry-point group
``minimalkv_fsspec.stores`` (name: the scheme, value: ``module:Class``).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from minimalkv_fsspec.exceptions import BackendNotInstalledError, StoreUrlError

if TYPE_CHECKING:
    from minimalkv_fsspec._store import KeyValueStore

__all__ = [
    "StoreUrl",
    "decorate_store",
    "get_store",
    "get_store_from_url",
    "parse_bool",
    "parse_url",
    "register_scheme",
    "register_wrapper",
    "url2dict",
]

ENTRY_POINT_GROUP = "minimalkv_fsspec.stores"
"""The entry-point group through which other packages register store schemes."""

_SCHEME_RE = re.compile(r"[a-z][a-z0-9.+-]*\Z")  # \Z, not "$", which would let a final newline in
_TRUE = frozenset({"true", "1", "yes", "on", ""})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class StoreUrl:
    """A store URL split into its parts, percent-decoded.

    ``repr`` never shows the user information or the password.
    """

    scheme: str
    """The store's scheme without wrappers, for example ``"hfs"`` or ``"sql+sqlite"``."""
    wrappers: tuple[str, ...] = ()
    """Wrapper names with arguments, outermost first, for example ``("readonly",)``."""
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    host: str = ""
    port: int | None = None
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    """Options; for a repeated option the last occurrence wins."""

    @property
    def userinfo(self) -> str | None:
        """The decoded user information: ``user:password``, ``user``, or None."""
        if self.username is None:
            return None
        return self.username if self.password is None else f"{self.username}:{self.password}"


@dataclass(frozen=True)
class _Scheme:
    target: str
    extra: str | None


_SCHEMES: dict[str, _Scheme] = {}
_WRAPPERS: dict[str, Callable[[Any, str | None], Any]] = {}
_entry_points_loaded = False


def register_scheme(scheme: str, target: str | type, *, extra: str | None = None, clobber: bool = False) -> None:
    """Make *scheme* build stores of class *target*.

    Parameters
    ----------
    scheme
        The URL scheme (and :func:`get_store` type), lowercase.
    target
        The store class, or its dotted path ``"package.module:Class"`` to import on first use.
        The class implements ``_url_params(url)`` and ``_from_params(params, create_if_missing=...)``.
    extra
        The ``pip install minimalkv_fsspec[extra]`` that provides the class's dependencies.
    clobber
        Replace an existing registration instead of raising.

    Raises
    ------
    ValueError
        If *scheme* is registered already and *clobber* is false, or is not a valid scheme.
    """
    if not _SCHEME_RE.match(scheme):
        raise ValueError(f"invalid scheme name {scheme!r}")
    if scheme in _SCHEMES and not clobber:
        raise ValueError(f"scheme {scheme!r} is registered already; pass clobber=True to replace it")
    if isinstance(target, type):
        target = f"{target.__module__}:{target.__qualname__}"
    _SCHEMES[scheme] = _Scheme(target, extra)


def register_wrapper(name: str, factory: Callable[[Any, str | None], Any], *, clobber: bool = False) -> None:
    """Make the wrapper *name* usable in store URLs.

    Parameters
    ----------
    name
        The wrapper's name, as written in ``scheme+name://`` or ``#wrap:name``.
    factory
        Called as ``factory(store, argument)``; *argument* is the text between
        parentheses in ``name(argument)``, or None. Returns the decorated store.
    clobber
        Replace an existing wrapper instead of raising.

    Raises
    ------
    ValueError
        If *name* is registered already and *clobber* is false.
    """
    if name in _WRAPPERS and not clobber:
        raise ValueError(f"wrapper {name!r} is registered already; pass clobber=True to replace it")
    _WRAPPERS[name] = factory


def parse_bool(value: str | bool, option: str) -> bool:
    """Return the boolean an option's text means (``true/false``, ``1/0``, ``yes/no``, ``on/off``).

    Raises
    ------
    StoreUrlError
        If *value* is none of those.
    """
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise StoreUrlError(f"option {option!r} must be true or false, not {value!r}")


def _wrapper_name(wrapper: str) -> str:
    return wrapper.split("(", 1)[0]


def parse_url(url: str) -> StoreUrl:
    """Split a store URL into a :class:`StoreUrl`.

    Raises
    ------
    StoreUrlError
        If the URL is malformed: no ``scheme://``, a bad port, wrappers given twice,
        an unknown wrapper. The message never repeats the user information.
    """
    if not isinstance(url, str):
        raise StoreUrlError(f"a store URL must be a str, not {type(url).__name__}")
    head, sep, _ = url.partition("://")
    if not sep or not head:
        raise StoreUrlError("a store URL must start with 'scheme://', as in 'memory://' or 'fs:///data'")
    full_scheme = head.lower()
    if not _SCHEME_RE.match(full_scheme):
        raise StoreUrlError(f"invalid scheme {head!r} in store URL")
    try:
        parts = urlsplit(url, allow_fragments=True)
        port = parts.port
    except ValueError as exc:
        raise StoreUrlError(f"malformed store URL for scheme {full_scheme!r}: invalid host or port") from exc

    names = full_scheme.split("+")
    scheme_wrappers: list[str] = []
    while len(names) > 1 and _wrapper_name(names[-1]) in _known_wrappers():
        scheme_wrappers.insert(0, names.pop())
    fragment = parts.fragment
    fragment_wrappers: list[str] = []
    if fragment:
        if not fragment.startswith("wrap:"):
            raise StoreUrlError("unsupported URL fragment: only '#wrap:name+name' is understood")
        # Split before decoding, so a wrapper's argument may hold an encoded "+" (%2B).
        fragment_wrappers = [unquote(name) for name in fragment[len("wrap:") :].split("+") if name]
        fragment_wrappers.reverse()  # rightmost is outermost
    if scheme_wrappers and fragment_wrappers:
        raise StoreUrlError("wrappers given both in the scheme and in the fragment; use one of the two")
    wrappers = tuple(scheme_wrappers or fragment_wrappers)
    for wrapper in wrappers:
        if _wrapper_name(wrapper) not in _known_wrappers():
            raise StoreUrlError(f"unknown wrapper {_wrapper_name(wrapper)!r}; known: {', '.join(sorted(_WRAPPERS))}")

    userinfo, at, hostport = parts.netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user)
        password = unquote(secret) if colon else None
    query: dict[str, str] = {}
    try:
        for option, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
            query[option] = value
    except ValueError as exc:
        raise StoreUrlError(f"malformed query in store URL for scheme {full_scheme!r}") from exc
    return StoreUrl(
        scheme="+".join(names),
        wrappers=wrappers,
        username=username,
        password=password,
        host=unquote(_host_of(hostport)),
        port=port,
        path=unquote(parts.path),
        query=query,
    )


def _host_of(hostport: str) -> str:
    """Return the host of ``host[:port]``, keeping its case (a relative fs:// path is case-sensitive)."""
    if hostport.startswith("["):
        return hostport[1 : hostport.find("]")]
    host, colon, port = hostport.rpartition(":")
    return host if colon else port


def _known_wrappers() -> dict[str, Callable[[Any, str | None], Any]]:
    if "readonly" not in _WRAPPERS:
        importlib.import_module("minimalkv_fsspec._wrappers")
    return _WRAPPERS


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name not in _SCHEMES:
            _SCHEMES[entry_point.name] = _Scheme(entry_point.value, None)


def _lookup(scheme: str) -> tuple[str, _Scheme]:
    """Return the registered name and entry for *scheme* (``sql+sqlite`` is found as ``sql``)."""
    for name in (scheme, scheme.split("+", 1)[0]):
        if name in _SCHEMES:
            return name, _SCHEMES[name]
    _load_entry_points()
    for name in (scheme, scheme.split("+", 1)[0]):
        if name in _SCHEMES:
            return name, _SCHEMES[name]
    raise StoreUrlError(f'Unknown storage type "{scheme}"; known: {", ".join(sorted(_SCHEMES))}')


def _store_class(scheme: str) -> type:
    name, entry = _lookup(scheme)
    module_name, _, class_name = entry.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _not_installed(name, entry, exc) from exc
    cls: type = getattr(module, class_name)
    return cls


def _not_installed(name: str, entry: _Scheme, exc: ImportError) -> BackendNotInstalledError:
    hint = f"; install it with: pip install 'minimalkv_fsspec[{entry.extra}]'" if entry.extra else ""
    missing = getattr(exc, "name", None) or "a dependency"
    return BackendNotInstalledError(f"the {name!r} store needs the package {missing!r}, which is not installed{hint}")


def url2dict(url: str, raise_on_extra_params: bool = False) -> dict[str, Any]:
    """Return the keyword parameters of :func:`get_store` that *url* stands for.

    The result holds ``type`` (the scheme), the store's own parameters and, if
    the URL names any, ``wrap`` (wrappers joined with ``+``, innermost first,
    as :func:`get_store` takes them).

    Parameters
    ----------
    url
        The store URL.
    raise_on_extra_params
        Raise if the URL has options that the scheme does not know.

    Raises
    ------
    ValueError
        If the URL is malformed, the scheme unknown, or an option invalid.
    """
    parsed = parse_url(url)
    params = _store_params(parsed, raise_on_extra_params)
    if parsed.wrappers:
        params["wrap"] = "+".join(reversed(parsed.wrappers))
    return params


def _store_params(parsed: StoreUrl, raise_on_extra_params: bool = False) -> dict[str, Any]:
    cls = _store_class(parsed.scheme)
    params: dict[str, Any] = {"type": parsed.scheme}
    if "create_if_missing" in parsed.query:
        params["create_if_missing"] = parse_bool(parsed.query["create_if_missing"], "create_if_missing")
    params.update(cls._url_params(parsed))  # type: ignore[attr-defined]
    # A store whose _url_options is None passes every option on (SQL drivers take many).
    if raise_on_extra_params and getattr(cls, "_url_options", ()) is not None:
        known = set(getattr(cls, "_url_options", ())) | {"create_if_missing"}
        unknown = sorted(set(parsed.query) - known)
        if unknown:
            raise StoreUrlError(f"unknown options for scheme {parsed.scheme!r}: {', '.join(unknown)}")
    return params


def get_store_from_url(url: str, store_cls: type | None = None) -> KeyValueStore:
    """Build the store that *url* describes, wrapped in the decorators it names.

    Parameters
    ----------
    url
        A store URL such as ``memory://``, ``hfs:///data?create_if_missing=false``
        or ``redis://localhost/0#wrap:readonly``.
    store_cls
        If given, the class the URL must build (wrappers aside).

    Raises
    ------
    ValueError
        If the URL is malformed, the scheme unknown (a :class:`StoreUrlError`), or
        its package is missing (a :class:`BackendNotInstalledError` naming the extra).
    """
    parsed = parse_url(url)
    params = _store_params(parsed)
    if store_cls is not None:
        actual = _store_class(parsed.scheme)
        if not issubclass(actual, store_cls):
            raise StoreUrlError(f"scheme {parsed.scheme!r} builds {actual.__name__}, not {store_cls.__name__}")
    # Wrappers go as a list: an argument may hold a "+" that the string form would split.
    return get_store(**params, wrap=list(reversed(parsed.wrappers)))


def get_store(type: str, create_if_missing: bool = True, **params: Any) -> KeyValueStore:  # noqa: A002
    """Build a store of *type* from keyword parameters (as :func:`url2dict` returns them).

    Parameters
    ----------
    type
        The scheme, optionally with wrappers (``"memory+readonly"``).
    create_if_missing
        Create the store's container (directory, bucket, table) if it is missing.
    params
        The store's parameters; ``wrap="readonly+urlencode"`` (or a list of
        names) names wrappers, innermost first.

    Raises
    ------
    ValueError
        If the type is unknown, wrappers are given twice, or a parameter is invalid.
    """
    wrap = params.pop("wrap", None)
    names = type.split("+")
    scheme_wrappers: list[str] = []
    while len(names) > 1 and _wrapper_name(names[-1]) in _known_wrappers():
        scheme_wrappers.insert(0, names.pop())
    if scheme_wrappers and wrap:
        raise StoreUrlError("wrappers given both in the type and in 'wrap'; use one of the two")
    scheme = "+".join(names)
    cls = _store_class(scheme)
    try:
        store: KeyValueStore = cls._from_params(  # type: ignore[attr-defined]
            dict(params, type=scheme), create_if_missing=create_if_missing
        )
    except ImportError as exc:
        name, entry = _lookup(scheme)
        raise _not_installed(name, entry, exc) from exc
    # Scheme wrappers are outermost-first; 'wrap' lists them innermost-first.
    if scheme_wrappers:
        inner_first = list(reversed(scheme_wrappers))
    else:
        inner_first = wrap.split("+") if isinstance(wrap, str) else list(wrap or [])
    for wrapper in inner_first:
        store = decorate_store(store, wrapper)
    return store


def decorate_store(store: KeyValueStore, name: str) -> KeyValueStore:
    """Wrap *store* in the decorator called *name* (``readonly``, ``urlencode``, ...).

    ``name(argument)`` passes *argument* to the wrapper's factory.

    Raises
    ------
    ValueError
        If no wrapper is called *name*.
    """
    base, paren, rest = name.partition("(")
    argument = (rest[:-1] if rest.endswith(")") else rest) if paren else None
    factory = _known_wrappers().get(base)
    if factory is None:
        raise StoreUrlError(f"unknown wrapper {base!r}; known: {', '.join(sorted(_WRAPPERS))}")
    return factory(store, argument)  # type: ignore[no-any-return]


# minimalkv's schemes. Backends are imported only when their scheme is used.
for _name, _target, _extra in (
    ("memory", "minimalkv_fsspec.backends.native.memory:DictStore", None),
    ("hmemory", "minimalkv_fsspec.backends.native.memory:HDictStore", None),
    ("fs", "minimalkv_fsspec.backends.adapters.filesystem:FilesystemStore", None),
    ("hfs", "minimalkv_fsspec.backends.adapters.filesystem:HFilesystemStore", None),
    ("file", "minimalkv_fsspec.backends.adapters.filesystem:FilesystemStore", None),
    ("hfile", "minimalkv_fsspec.backends.adapters.filesystem:HFilesystemStore", None),
    ("filesystem", "minimalkv_fsspec.backends.adapters.filesystem:HFilesystemStore", None),
    ("redis", "minimalkv_fsspec.backends.native.redis:RedisStore", "redis"),
    ("hredis", "minimalkv_fsspec.backends.native.redis:HRedisStore", "redis"),
    ("rediss", "minimalkv_fsspec.backends.native.redis:RedisStore", "redis"),
    ("hrediss", "minimalkv_fsspec.backends.native.redis:HRedisStore", "redis"),
    ("sql", "minimalkv_fsspec.backends.native.sql:SQLAlchemyStore", "sql"),
    ("hsql", "minimalkv_fsspec.backends.native.sql:HSQLAlchemyStore", "sql"),
    ("git", "minimalkv_fsspec.backends.native.git:GitCommitStore", "git"),
    ("hgit", "minimalkv_fsspec.backends.native.git:HGitCommitStore", "git"),
    ("s3", "minimalkv_fsspec.backends.adapters.s3:S3FSStore", "s3"),
    ("hs3", "minimalkv_fsspec.backends.adapters.s3:HS3FSStore", "s3"),
    ("boto", "minimalkv_fsspec.backends.adapters.s3:S3FSStore", "s3"),
    ("azure", "minimalkv_fsspec.backends.adapters.azure:AzureBlockBlobStore", "azure"),
    ("hazure", "minimalkv_fsspec.backends.adapters.azure:HAzureBlockBlobStore", "azure"),
    ("gcs", "minimalkv_fsspec.backends.adapters.gcs:GoogleCloudStore", "gcs"),
    ("hgcs", "minimalkv_fsspec.backends.adapters.gcs:HGoogleCloudStore", "gcs"),
    # Any fsspec protocol: fsspec+sftp://host/path, fsspec+simplecache+s3://bucket/dir.
    ("fsspec", "minimalkv_fsspec.backends.adapters.generic:GenericFSSpecStore", None),
    ("hfsspec", "minimalkv_fsspec.backends.adapters.generic:HGenericFSSpecStore", None),
):
    register_scheme(_name, _target, extra=_extra)
