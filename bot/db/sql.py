"""One SQL text for both engines: ``?`` placeholders become psycopg's ``%s``."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=2048)
def to_pyformat(sql: str) -> str:
    """``?`` outside quotes becomes ``%s``, and every literal ``%`` (a ``LIKE 'a%'``)
    becomes ``%%``, because psycopg reads ``%`` as the start of a placeholder."""
    out: list[str] = []
    quote: str | None = None
    for char in sql:
        if char == "%":
            out.append("%%")
            continue
        if quote:
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append(char)
    return "".join(out)
