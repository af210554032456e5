"""The shape of Meta's webhook body, checked before anything in it is acted on.

Only what the bot reads is checked, and only against what Meta documents: the envelope
(``object``, ``entry``, ``changes``, ``value``), the lists of ``messages`` and ``statuses``,
and in each message the fields :func:`bot.channels.whatsapp.convert.inbound` uses. Fields the
bot does not read, and message types it does not know, pass untouched: Meta adds them now and
then. A body that breaks the shape is refused as a whole (400, one log line naming the first
problem by its path, never its content), before a single message in it is handled, so a
refusal never leaves half a batch done.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.channels.json_input import Malformed

log = logging.getLogger(__name__)

# message type -> the fields of its body the bot reads, and their types
_BODIES: dict[str, dict[str, type | tuple[type, ...]]] = {
    "text": {"body": str},
    "image": {"id": str, "caption": str, "mime_type": str},
    "document": {"id": str, "caption": str, "mime_type": str, "filename": str},
    "audio": {"id": str, "mime_type": str, "voice": bool},
    "video": {"id": str, "caption": str, "mime_type": str},
    "interactive": {"button_reply": dict, "list_reply": dict},
    "button": {"text": str, "payload": str},
}
_REPLY = {"id": str, "title": str}


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{where} is not an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{where} is not a list")
    return value


def _fields(body: dict[str, Any], expected: dict[str, type | tuple[type, ...]], where: str) -> None:
    for name, kind in expected.items():
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            raise Malformed(f"{where}.{name} has the wrong type")


def _message(message: Any, where: str) -> None:
    message = _object(message, where)
    for name in ("from", "id", "type"):
        if not isinstance(message.get(name), str) or not message[name]:
            raise Malformed(f"{where}.{name} is not a text")
    timestamp = message.get("timestamp")
    if timestamp is not None and (
        isinstance(timestamp, bool) or not isinstance(timestamp, str | int | float)
    ):
        raise Malformed(f"{where}.timestamp is not a time")
    kind = message["type"]
    if kind in _BODIES and message.get(kind) is not None:
        body = _object(message[kind], f"{where}.{kind}")
        _fields(body, _BODIES[kind], f"{where}.{kind}")
        if kind == "interactive":
            for reply in ("button_reply", "list_reply"):
                if body.get(reply) is not None:
                    _fields(body[reply], _REPLY, f"{where}.interactive.{reply}")


def message_values(data: Any, phone_number_id: str) -> list[dict[str, Any]]:
    """The ``value`` of each ``messages`` change for our phone number, every message and
    status in it checked. Raises :class:`Malformed`; another kind of webhook gives []."""
    data = _object(data, "the body")
    if data.get("object") != "whatsapp_business_account":
        return []
    values: list[dict[str, Any]] = []
    for e, entry in enumerate(_list(data.get("entry"), "entry")):
        entry = _object(entry, f"entry[{e}]")
        for c, change in enumerate(_list(entry.get("changes"), f"entry[{e}].changes")):
            where = f"entry[{e}].changes[{c}]"
            change = _object(change, where)
            if change.get("field") != "messages":
                continue
            value = _object(change.get("value"), f"{where}.value")
            metadata = _object(value.get("metadata") or {}, f"{where}.value.metadata")
            for s, status in enumerate(_list(value.get("statuses"), f"{where}.value.statuses")):
                _object(status, f"{where}.value.statuses[{s}]")
            for m, message in enumerate(_list(value.get("messages"), f"{where}.value.messages")):
                _message(message, f"{where}.value.messages[{m}]")
            if str(metadata.get("phone_number_id")) != phone_number_id:
                log.info("whatsapp webhook: ignored an event for another phone number")
                continue
            values.append(value)
    return values
