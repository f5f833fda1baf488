"""The app as uvicorn serves it behind a proxy, for in-process tests."""

from typing import cast

from starlette.types import ASGIApp
from uvicorn._types import ASGI3Application
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def behind_proxy(app: ASGIApp, proxy: str) -> ASGIApp:
    """`app` as `uvicorn --proxy-headers` serves it with FORWARDED_ALLOW_IPS=`proxy`.

    The client's address and the scheme come from X-Forwarded-For and
    X-Forwarded-Proto when the connection comes from `proxy`, else from the
    connection.
    """
    # uvicorn and starlette type the same ASGI interface each in its own words.
    wrapped = ProxyHeadersMiddleware(cast(ASGI3Application, app), trusted_hosts=proxy)
    return cast(ASGIApp, wrapped)
