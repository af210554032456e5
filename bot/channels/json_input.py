"""JSON from a platform (a webhook body, a Telegram update), made safe at the boundary.

Two things reach a webhook that Python's ``json`` accepts but the rest of the bot cannot use:

- a lone surrogate (``"\\ud800"``): valid JSON, yet not text; SQLite and every encoder refuse
  it later, far from here, and the parent is never answered. Each is replaced by U+FFFD (the
  replacement character) in every string, keys included, so the message still goes through;
- deep nesting: ``json`` gives up with a RecursionError at about a thousand levels, and code
  that walks the data may before that. Nothing the platforms send is nested more than a few
  levels, so more than :data:`MAX_DEPTH` is refused.

What is refused raises :class:`Malformed`, whose message says what was wrong, never the
content (it could be what a parent wrote).
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


class Malformed(ValueError):
    """Not what the platform sends; the message names the problem, never the content."""


def text(value: str) -> str:
    return _SURROGATE.sub("\ufffd", value)


def load(body: bytes) -> Any:
    """Parse a body and :func:`sanitise` it."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise Malformed("nested too deeply") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise Malformed("not JSON") from None
    if isinstance(data, str):
        return text(data)
    sanitise(data)
    return data


def sanitise(data: Any, max_depth: int = MAX_DEPTH) -> bool:
    """Replace lone surrogates in every string of ``data`` (lists and dicts, changed in place)
    and check its depth. Returns whether anything was replaced. Iterative: the depth check
    must not itself run out of stack."""
    changed = False
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise Malformed(f"nested more than {max_depth} levels deep")
        if isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str):
                    if _SURROGATE.search(value):
                        node[i] = text(value)
                        changed = True
                elif isinstance(value, list | dict):
                    stack.append((value, depth + 1))
        elif isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if _SURROGATE.search(key):
                    del node[key]
                    key = text(key)
                    node[key] = value
                    changed = True
                if isinstance(value, str):
                    if _SURROGATE.search(value):
                        node[key] = text(value)
                        changed = True
                elif isinstance(value, list | dict):
                    stack.append((value, depth + 1))
    return changed
