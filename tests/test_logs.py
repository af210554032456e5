"""The log format: structured lines, and the safety nets for what we do not write ourselves."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import LogFormatError, configure, formatter, redact


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:AAHsecretsecretsecret")
    buffer = io.StringIO()
    handler = configure(logging.INFO, "json", stream=buffer)
    yield buffer
    logging.getLogger().removeHandler(handler)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_one_json_object_per_line_with_extra_fields(logged: io.StringIO) -> None:
    logging.getLogger("bot.test").info("handoff %d opened", 7, extra={"handoff": 7})
    (entry,) = lines(logged)
    assert entry["level"] == "info" and entry["logger"] == "bot.test"
    assert entry["message"] == "handoff 7 opened" and entry["handoff"] == 7
    assert str(entry["time"]).endswith("+00:00")


def test_an_exception_is_logged_by_type_and_place_never_by_its_message(
    logged: io.StringIO,
) -> None:
    try:
        raise ValueError("mijn man slaat mij")  # what a parent wrote, inside an exception
    except ValueError:
        logging.getLogger("bot.test").exception("handling failed")
    (entry,) = lines(logged)
    assert entry["error"]["type"] == "ValueError"  # type: ignore[index]
    assert "test_logs.py" in entry["error"]["stack"][0]  # type: ignore[index]
    assert "slaat" not in logged.getvalue()


def test_long_numbers_and_secrets_are_masked_whoever_logs_them(logged: io.StringIO) -> None:
    library = logging.getLogger("some.library")
    library.info("POST https://api.telegram.org/bot123456789:AAHsecretsecretsecret/sendMessage")
    library.info("chat_id=5550001234 to=+32470009999 handoff 12 at 10:00")
    written = logged.getvalue()
    assert "AAHsecret" not in written and "<TELEGRAM_BOT_TOKEN>" in written
    assert "5550001234" not in written and "32470009999" not in written
    assert "handoff 12 at 10:00" in written  # short numbers stay readable


def test_text_format_for_people_and_a_clear_error_for_a_typo() -> None:
    record = logging.makeLogRecord({"msg": "started", "levelname": "INFO", "name": "bot"})
    assert "INFO bot: started" in formatter("text").format(record)
    with pytest.raises(LogFormatError, match="json or text"):
        formatter("yaml")


def test_redact_leaves_ordinary_text_alone() -> None:
    assert redact("outbox parent: item 42 undeliverable (Forbidden)") == (
        "outbox parent: item 42 undeliverable (Forbidden)"
    )
