"""Route tables: routes declared as on an APIRouter, and built once, on the app.

FastAPI builds a route (its parameters' validators, its response's serializer)
when it is declared on an APIRouter, and again for every router it is included
into, since a prefix, tags or dependencies may differ there. With a router per
model, included into one router included into the app, every worker built each
route twice at start-up, and once more for the first OpenAPI document: at 300
models that was most of its start-up time and memory (uowgen's
benchmarks/cold_start.py). A table only records what is declared on it;
`add_to(app)` builds each route once, on the app itself.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI

EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])


@dataclass(frozen=True)
class _Route:
    path: str
    endpoint: Callable[..., Any]
    options: dict[str, Any]
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Router:
    router: APIRouter
    prefix: str = ""
    tags: list[str] = field(default_factory=list)


class RouteTable:
    """Routes of one prefix and its tags, added to the app by `add_to`.

    Declare routes with `get`, `post`, `put`, `patch` and `delete`, which take
    what APIRouter's take; `include_router` adds another table, or an APIRouter.
    """

    def __init__(self, *, prefix: str = "", tags: list[str] | None = None) -> None:
        self.prefix = prefix
        self.tags = tags or []
        # In declaration order, which is the order requests are matched in.
        self._entries: list[_Route | _Router] = []

    def api_route(
        self, path: str, *, methods: list[str], **options: Any
    ) -> Callable[[EndpointT], EndpointT]:
        """Declare `path` for `methods`; `options` as for `APIRouter.api_route`."""

        def declare(endpoint: EndpointT) -> EndpointT:
            tags = [*self.tags, *options.pop("tags", [])]
            route = _Route(
                self.prefix + path, endpoint, {"methods": methods, **options}, tags
            )
            self._entries.append(route)
            return endpoint

        return declare

    def get(self, path: str, **options: Any) -> Callable[[EndpointT], EndpointT]:
        """Declare a GET route."""
        return self.api_route(path, methods=["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[EndpointT], EndpointT]:
        """Declare a POST route."""
        return self.api_route(path, methods=["POST"], **options)

    def put(self, path: str, **options: Any) -> Callable[[EndpointT], EndpointT]:
        """Declare a PUT route."""
        return self.api_route(path, methods=["PUT"], **options)

    def patch(self, path: str, **options: Any) -> Callable[[EndpointT], EndpointT]:
        """Declare a PATCH route."""
        return self.api_route(path, methods=["PATCH"], **options)

    def delete(self, path: str, **options: Any) -> Callable[[EndpointT], EndpointT]:
        """Declare a DELETE route."""
        return self.api_route(path, methods=["DELETE"], **options)

    def include_router(self, router: "RouteTable | APIRouter") -> None:
        """Add another table's routes, or an APIRouter, under this prefix and tags."""
        if isinstance(router, APIRouter):
            self._entries.append(_Router(router, self.prefix, list(self.tags)))
            return
        for entry in router._entries:
            if isinstance(entry, _Route):
                path, tags = self.prefix + entry.path, [*self.tags, *entry.tags]
                self._entries.append(_Route(path, entry.endpoint, entry.options, tags))
            else:
                prefix, tags = self.prefix + entry.prefix, [*self.tags, *entry.tags]
                self._entries.append(_Router(entry.router, prefix, tags))

    def add_to(self, app: FastAPI) -> None:
        """Build every route declared here on `app`, in declaration order."""
        for entry in self._entries:
            if isinstance(entry, _Route):
                app.add_api_route(
                    entry.path, entry.endpoint, tags=list(entry.tags), **entry.options
                )
            else:
                app.include_router(
                    entry.router, prefix=entry.prefix, tags=list(entry.tags)
                )
