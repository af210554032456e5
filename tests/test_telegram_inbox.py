"""The Telegram update inbox on its own: what polling puts in is on disk until it is done, is
kept once however often it arrives, comes back after a restart, and has its text sanitised
(in polling, python-telegram-bot parses the JSON itself, so the webhook's sanitising does not
apply)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, Update

from bot.channels.json_input import Malformed
from bot.channels.telegram.inbox import UpdateInbox
from bot.conversation.state import StateStore


def update(update_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": 42, "is_bot": False, "first_name": "Parent"},
            "chat": {"id": 42, "type": "private", "first_name": "Parent"},
            "date": 1_700_000_000,
            "text": text,
        },
    }


def inbox_on(path: Path | str) -> tuple[UpdateInbox, StateStore]:
    state = StateStore(path)
    inbox = UpdateInbox(state, lambda: datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    inbox.bot = Bot("123456:TEST-TOKEN")
    return inbox, state


async def test_a_polled_update_is_kept_once_sanitised_and_back_after_a_restart(
    state_db: Path | str,
) -> None:
    inbox, state = inbox_on(state_db)
    polled = Update.de_json(update(7, "hallo \ud800"), inbox.bot)
    await inbox.put(polled)
    await inbox.put(polled)  # fetched again (not confirmed yet): queued once
    assert inbox.qsize() == 1 and inbox.waiting() == 1
    queued = inbox.get_nowait()
    assert isinstance(queued, Update) and queued.message is not None
    assert queued.message.text == "hallo \ufffd"
    state.close()  # the process dies before the update is handled

    inbox, state = inbox_on(state_db)
    assert await inbox.replay() == 1
    again = inbox.get_nowait()
    assert isinstance(again, Update) and again.update_id == 7
    inbox.done(again)
    assert inbox.waiting() == 0
    assert await inbox.replay() == 0
    state.close()


@pytest.mark.parametrize(
    "data",
    [
        {"update_id": 2**70, "message": update(1, "x")["message"]},
        {"update_id": True},
        {"update_id": 3, "message": 5},
        ["not", "an", "update"],
    ],
)
async def test_what_is_not_an_update_is_refused(tmp_path: Path, data: Any) -> None:
    inbox, state = inbox_on(tmp_path / "state.db")
    with pytest.raises(Malformed):
        await inbox.take_in(data)
    assert inbox.qsize() == 0 and inbox.waiting() == 0
    state.close()
