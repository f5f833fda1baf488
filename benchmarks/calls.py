"""Python function calls per request, generated layers against hand-written handlers.

Run by benchmarks/run.py (section `calls`) in a process of its own, with the
rendered project's `src` and the repository root on PYTHONPATH and DATABASE_URL set:

    python benchmarks/calls.py [--requests N]      # prints one JSON object

The app (tests/lifecycle/apps/generated.py) runs in this process behind httpx's
ASGI transport, against the real database; cProfile counts every function call
(Python and C) while N requests of each kind run. Unlike CPU time, the count is the
same from one run to the next whatever else the machine does, so a difference of a
few percent between the stacks is a real one. The client's own calls (httpx, the
ASGI transport) are counted too, the same for both stacks.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import time
from collections.abc import Awaitable, Callable

import httpx

from tests.lifecycle.apps.generated import create_app

Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def count_calls(client: httpx.AsyncClient, call: Call, requests: int) -> float:
    """Function calls per request over `requests` requests, after a warm-up."""
    for n in range(-200, 0):  # warm-up: caches filled, statements prepared
        (await call(client, n)).raise_for_status()
    profile = cProfile.Profile()
    profile.enable()
    for n in range(requests):
        response = await call(client, n)
        if response.is_error:
            profile.disable()
            raise RuntimeError(f"{response.status_code}: {response.text}")
    profile.disable()
    return pstats.Stats(profile).total_calls / requests  # type: ignore[attr-defined,no-any-return]


async def measure(requests: int) -> dict[str, dict[str, float]]:
    app = create_app()
    tag = time.monotonic_ns()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t"
        ) as client:
            response = await client.post(
                "/user-types", json={"code": f"calls-{tag}", "name": "calls"}
            )
            type_id = response.raise_for_status().json()["id"]

            def user(stack: str, n: int) -> dict[str, object]:
                email = f"calls-{stack}-{tag}-{n}@example.com"
                return {"email": email, "first_name": "Ada", "type_id": type_id}

            response = await client.post("/users", json=user("seed", 0))
            user_id = response.raise_for_status().json()["id"]
            calls: dict[tuple[str, str], Call] = {
                ("get", "generated"): lambda c, _n: c.get(f"/users/{user_id}"),
                ("get", "hand-written"): lambda c, _n: c.get(f"/raw/users/{user_id}"),
                ("create", "generated"): lambda c, n: c.post(
                    "/users", json=user("g", n)
                ),
                ("create", "hand-written"): lambda c, n: c.post(
                    "/raw/users", json=user("h", n)
                ),
            }
            result: dict[str, dict[str, float]] = {}
            for (operation, stack), call in calls.items():
                per_request = await count_calls(client, call, requests)
                result.setdefault(operation, {})[stack] = per_request
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.requests))))


if __name__ == "__main__":
    main()
