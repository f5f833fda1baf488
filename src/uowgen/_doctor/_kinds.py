"""What a value is, as far as the rules care: a session, an engine, a client.

The kinds, the library names that give them (SQLAlchemy's sessions and engines,
HTTP clients, FastAPI's `Depends`) and the naming conventions the inference trusts
when a name cannot be followed. `_inference` works out the kind of an expression.
"""

from __future__ import annotations

import ast
import enum
from dataclasses import dataclass, field

from uowgen._doctor._symbols import (
    ClassInfo,
    External,
    FunctionInfo,
    Module,
)
from uowgen._doctor._syntax import last_name

SA = ("sqlalchemy", "sqlmodel")
FACTORY_NAMES = frozenset({"sessionmaker", "async_sessionmaker"})
SCOPED_NAMES = frozenset({"scoped_session", "async_scoped_session"})
ASYNC_SESSION_NAMES = frozenset({"AsyncSession"})
SESSION_NAMES = frozenset({"Session", "AsyncSession"})
CONNECTION_NAMES = frozenset({"Connection", "AsyncConnection"})
ENGINE_FUNCTIONS = frozenset(
    {
        "create_engine",
        "create_async_engine",
        "engine_from_config",
        "async_engine_from_config",
    }
)
ENGINE_NAMES = frozenset({"Engine", "AsyncEngine"})
HTTP_CLIENTS = {
    "httpx": frozenset({"AsyncClient", "Client"}),
    "aiohttp": frozenset({"ClientSession"}),
    "requests": frozenset({"Session"}),
    "urllib3": frozenset({"PoolManager", "HTTPConnectionPool", "HTTPSConnectionPool"}),
}
# Transports that hand requests to an app in this process (tests, internal calls):
# a client over one makes no outbound call.
IN_PROCESS_TRANSPORTS = frozenset({"ASGITransport", "WSGITransport", "MockTransport"})
HTTP_VERBS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"}
)
HTTP_FUNCTIONS = {
    "httpx": HTTP_VERBS,
    "requests": HTTP_VERBS - {"stream"},
    "aiohttp": frozenset({"request"}),
    "urllib3": frozenset({"request"}),
    "urllib": frozenset({"urlopen"}),
}
HTTP_METHODS = HTTP_VERBS | {"send", "ws_connect", "urlopen"}
DEPENDS = frozenset({"Depends", "Security"})
CONTEXT_MANAGERS = frozenset({"contextmanager", "asynccontextmanager"})
CACHES = frozenset({"cache", "lru_cache"})


class Tag(enum.Enum):
    """What kind of thing a value is."""

    SESSION = "session"
    CONNECTION = "connection"
    FACTORY = "session factory"
    ENGINE = "engine"
    HTTP = "HTTP client"
    INSTANCE = "instance"
    CLASS = "class"
    FUNCTION = "function"
    MODULE = "module"
    EXTERNAL = "library name"
    TRANSACTION = "transaction block"
    IN_PROCESS = "in-process transport"
    SDK = "SDK client"
    CONTEXT = "context manager"


@dataclass(frozen=True, eq=False)
class Origin:
    """The call that made a session factory (or a session): where its settings are."""

    module: Module
    call: ast.Call

    @property
    def expires_on_commit(self) -> bool:
        """Whether sessions from it expire objects on commit (the default: yes).

        Unknown (`**settings` passed on) counts as no: the rule reports only what
        it can see.
        """
        if any(k.arg is None for k in self.call.keywords):
            return False
        setting = next(
            (k for k in self.call.keywords if k.arg == "expire_on_commit"), None
        )
        return setting is None or (
            isinstance(setting.value, ast.Constant) and setting.value.value is True
        )


@dataclass(frozen=True)
class Kind:
    """A value's kind, with what the rules need to know about it."""

    tag: Tag
    cls: ClassInfo | None = None
    function: FunctionInfo | None = None
    module: Module | None = None
    external: str = ""
    # Which session a session (or an object holding one) is: "request" for the one
    # FastAPI's Depends gives every dependency of a request.
    group: str | None = None
    # For a transaction block or a context manager: what `as` binds.
    inner: Kind | None = None
    is_async: bool = False
    # For a session or a factory: the call that made it, when it can be followed.
    origin: Origin | None = field(default=None, compare=False)

    @property
    def is_session(self) -> bool:
        """A session or connection: queries on it open a transaction."""
        return self.tag in (Tag.SESSION, Tag.CONNECTION)


@dataclass(frozen=True)
class Stored:
    """A `self.<attr>` assignment: what it stores and where."""

    kind: Kind
    function: FunctionInfo | None
    line: int
    built_here: bool


@dataclass
class Scope:
    """The names visible in a function (or a module's top level)."""

    module: Module
    function: FunctionInfo | None = None
    cls: ClassInfo | None = None
    self_name: str | None = None
    env: dict[str, Kind] = field(default_factory=dict)
    local_names: set[str] = field(default_factory=set)


_BUILDING = object()


def looks_like_session_factory(name: str) -> bool:
    """`SessionLocal`, `async_session_maker`, `self._session_factory`: by convention."""
    lowered = name.lower()
    return "session" in lowered and any(
        word in lowered for word in ("maker", "factory", "local")
    )


def looks_like_session_dependency(name: str) -> bool:
    """`get_session`, `get_db`, `get_async_session`: a dependency giving a session."""
    lowered = name.lower()
    if any(word in lowered for word in ("http", "client", "cookie", "user")):
        return False
    words = lowered.strip("_").split("_")
    return "session" in lowered or "db" in words or "database" in words


def external_type_kind(symbol: External) -> Kind | None:
    """The kind an annotation with a library type declares."""
    if symbol.is_one_of(SA, ASYNC_SESSION_NAMES):
        return Kind(Tag.SESSION, is_async=True)
    if symbol.is_one_of(SA, SESSION_NAMES) and "." in symbol.qualname:
        return Kind(Tag.SESSION)
    if symbol.is_one_of(SA, CONNECTION_NAMES) and "." in symbol.qualname:
        return Kind(Tag.CONNECTION, is_async=symbol.name.startswith("Async"))
    if symbol.is_one_of(SA, FACTORY_NAMES | SCOPED_NAMES):
        return Kind(Tag.FACTORY, is_async=symbol.name.startswith("async"))
    if symbol.is_one_of(SA, ENGINE_NAMES) and "." in symbol.qualname:
        return Kind(Tag.ENGINE, is_async=symbol.name.startswith("Async"))
    root = symbol.qualname.partition(".")[0]
    if symbol.name in HTTP_CLIENTS.get(root, ()):
        return Kind(Tag.HTTP, external=symbol.qualname)
    return None


def external_call_kind(symbol: External, call: ast.Call) -> Kind | None:
    """What calling a library name gives (an HTTP client: see `in_process`)."""
    if symbol.qualname.startswith("httpx.") and symbol.name in IN_PROCESS_TRANSPORTS:
        return Kind(Tag.IN_PROCESS, external=symbol.qualname)
    if symbol.is_one_of(SA, FACTORY_NAMES | SCOPED_NAMES):
        is_async = symbol.name.startswith("async") or any(
            k.arg == "class_" and last_name(k.value) == "AsyncSession"
            for k in call.keywords
        )
        return Kind(Tag.FACTORY, is_async=is_async)
    if symbol.is_one_of(SA, ENGINE_FUNCTIONS):
        return Kind(Tag.ENGINE, is_async="async" in symbol.name)
    kind = external_type_kind(symbol)
    if kind is not None and kind.tag in (Tag.SESSION, Tag.HTTP):
        return kind
    return None
