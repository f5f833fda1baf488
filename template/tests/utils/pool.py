"""Read the engine's pool counters."""

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool


def _queue_pool(engine: AsyncEngine) -> QueuePool:
    pool = engine.pool
    assert isinstance(pool, QueuePool), f"unexpected pool {type(pool).__name__}"
    return pool


def checked_out(engine: AsyncEngine) -> int:
    """Connections currently lent out of the pool."""
    return _queue_pool(engine).checkedout()


def pooled(engine: AsyncEngine) -> int:
    """Idle connections kept in the pool."""
    return _queue_pool(engine).checkedin()
