"""Logging set-up: structured (one JSON object per line) for machines, plain text for people,
and in both cases nothing that identifies a parent.

Our own log calls never carry message text, phone numbers or chat ids (a test reads every
line of full conversations to prove it). This module adds two safety nets for what we do not
write ourselves (libraries, exceptions):

- a redaction pass over every finished line: runs of 8 or more digits (phone numbers,
  Telegram chat and user ids) and the values of our secret environment variables are masked;
- exceptions are logged by type and stack frames only, never by their message, because a
  message can quote what a parent wrote.

``WEGWIJS_LOG_FORMAT`` chooses ``json`` or ``text``; by default JSON when the output is not a
terminal (a container, a service manager), text when it is.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import IO

SECRET_VARIABLES = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "WHATSAPP_TOKEN",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
)
LONG_NUMBER = re.compile(r"\+?(?<!\d)\d{8,}(?!\d)")
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


_OURS = "_wegwijs_handler"


class LogFormatError(ValueError):
    """WEGWIJS_LOG_FORMAT is neither json nor text."""


def redact(line: str) -> str:
    for name in SECRET_VARIABLES:
        secret = os.environ.get(name, "")
        if len(secret) >= 6 and secret in line:
            line = line.replace(secret, f"<{name}>")
    return LONG_NUMBER.sub("<number>", line)


def _stack(tb: TracebackType | None) -> list[str]:
    return [
        f"{os.path.basename(frame.filename)}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(tb)
    ]


class _Base(logging.Formatter):
    def _error(self, record: logging.LogRecord) -> dict[str, object] | None:
        if not record.exc_info or record.exc_info[0] is None:
            return None
        kind, _value, tb = record.exc_info
        return {"type": kind.__name__, "stack": _stack(tb)}


class JsonFormatter(_Base):
    """``{"time", "level", "logger", "message", ...extra fields, "error"?}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        error = self._error(record)
        if error:
            entry["error"] = error
        return redact(json.dumps(entry, ensure_ascii=False))


class TextFormatter(_Base):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S")
        line = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        error = self._error(record)
        if error:
            line += f" [{error['type']} at {' < '.join(reversed(error['stack']))}]"  # type: ignore[arg-type]
        return redact(line)


def formatter(kind: str | None = None) -> logging.Formatter:
    kind = (kind or os.environ.get("WEGWIJS_LOG_FORMAT") or "").strip().lower()
    if not kind:
        kind = "text" if sys.stderr.isatty() else "json"
    if kind == "json":
        return JsonFormatter()
    if kind == "text":
        return TextFormatter()
    raise LogFormatError(f"WEGWIJS_LOG_FORMAT must be json or text (got {kind!r})")


def configure(
    level: int = logging.WARNING, kind: str | None = None, stream: IO[str] | None = None
) -> logging.Handler:
    """Our one handler on the root logger (stderr by default), replacing the one set before.
    httpx stays at WARNING: its request lines contain the Telegram bot token in the URL."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(kind))
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return handler
