"""Sample values for tests: distinct for each `n`, within each column's limits."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal


def text(n: int, max_length: int | None = None) -> str:
    """A string unique per `n` that fits in `max_length`."""
    value = f"value-{n}"
    if max_length is not None and len(value) > max_length:
        value = format(n, "x")[-max_length:]
    return value


def number(n: int, precision: int, scale: int) -> str:
    """A decimal (as JSON text) that fits NUMERIC(precision, scale)."""
    whole_digits = precision - scale
    whole = n % (10**whole_digits) if whole_digits > 0 else 0
    return str(Decimal(whole).quantize(Decimal(1).scaleb(-scale)))


def day(n: int) -> str:
    """An ISO date unique per `n`."""
    return (date(2024, 1, 1) + timedelta(days=n)).isoformat()


def moment(n: int) -> str:
    """An ISO timestamp with a time zone, unique per `n`."""
    return (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=n)).isoformat()


def pick(n: int, choices: list[str]) -> str:
    """One of `choices`, cycling with `n`."""
    return choices[n % len(choices)]
