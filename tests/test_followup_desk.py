"""No handoff left hanging (issue 17): a picked-up question whose parent waits is announced to
the team and the coordinator after N of the worker's own working hours; a promised follow-up
comes back on its date with a reminder in the staff group; how long each handoff waited is
kept anonymously for the report. The clock is moved by hand, at any date."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from e2e import Clock, any_date, on_day

from bot.conversation.messages import HandoffRequest, Incoming
from bot.conversation.state import StateStore
from bot.followup.quiet import QuietError, QuietPolicy
from bot.handoff.desk import HandoffDesk
from bot.handoff.registrations import NewRegistration, RegistrationStore
from bot.handoff.workers import SAMPLE_FILE, load_team


@pytest.fixture
def desk(clock: Clock, tmp_path: Path) -> HandoffDesk:
    state = StateStore(tmp_path / "state.db", clock)
    return HandoffDesk(state, load_team(SAMPLE_FILE), quiet=QuietPolicy(4))


def notices(desk: HandoffDesk) -> list[str]:
    return [
        str(item.payload["text"])
        for items in desk.outbox.due("staff").values()
        for item in items
        if item.action == "notice"
    ]


def events(desk: HandoffDesk, kind: str) -> list[int | None]:
    return [e.handoff_id for e in desk.events.since(0) if e.kind == kind]


def picked_up_by_samira(desk: HandoffDesk, chat: str = "q1") -> int:
    ticket = desk.open(
        Incoming(chat, channel="telegram"),
        HandoffRequest("human_request", False, "ar", area="heverlee"),
        [],
    )
    samira = desk.team.find("samira")
    assert desk.pick_up(ticket.handoff_id, samira).ok
    return ticket.handoff_id


def parent_writes(desk: HandoffDesk, handoff_id: int, chat: str = "q1") -> None:
    handoff = desk.store.get(handoff_id)
    assert handoff is not None
    desk.from_parent(handoff, Incoming(chat, "is er al nieuws?", channel="telegram"))


@any_date
def test_a_parent_waiting_four_working_hours_is_announced_once(
    desk: HandoffDesk, clock: Clock
) -> None:
    tuesday = clock.now
    handoff_id = picked_up_by_samira(desk)
    parent_writes(desk, handoff_id)  # Tuesday 10:00; Samira works 08:30-16:30
    clock.now = on_day(tuesday, 0, 13, 59)
    desk.tick()
    assert events(desk, "quiet") == []
    clock.now = on_day(tuesday, 0, 14, 1)  # four working hours
    desk.tick()
    assert events(desk, "quiet") == [handoff_id]
    (text,) = [n for n in notices(desk) if "werkuren" in n]
    assert "Samira" in text and "tg://user?id=900000003" in text  # the coordinator, Nadia
    desk.tick()
    assert events(desk, "quiet") == [handoff_id]  # once for this message

    # Samira answers; the parent writes again: a new wait, a new alarm when it lasts.
    assert desk.reply(handoff_id, desk.team.find("samira"), "Ik kijk het na.").ok
    clock.now = on_day(tuesday, 0, 15, 0)
    parent_writes(desk, handoff_id)
    clock.now = on_day(tuesday, 1, 10, 0)  # 1:30 on Tuesday + 1:30 on Wednesday: 3 h
    desk.tick()
    assert events(desk, "quiet") == [handoff_id]
    clock.now = on_day(tuesday, 1, 11, 31)
    desk.tick()
    assert events(desk, "quiet") == [handoff_id, handoff_id]


@any_date
def test_hours_outside_the_workers_own_do_not_count(desk: HandoffDesk, clock: Clock) -> None:
    tuesday = clock.now
    handoff_id = picked_up_by_samira(desk)
    clock.now = on_day(tuesday, 3, 11, 0)  # Friday 11:00; Samira stops at 12:00 on Fridays
    parent_writes(desk, handoff_id)
    clock.now = on_day(tuesday, 6, 10, 0)  # Monday 10:00: 1 h Friday + 1:30 Monday
    desk.tick()
    assert events(desk, "quiet") == []


@any_date
def test_a_promised_follow_up_comes_back_with_a_reminder_in_the_staff_group(
    desk: HandoffDesk, clock: Clock
) -> None:
    tuesday = clock.now
    handoff_id = picked_up_by_samira(desk)
    store = RegistrationStore(desk.state)
    store.add(
        NewRegistration(
            contact_on=tuesday.date(),
            worker="samira",
            source="handoff",
            contact_type="chat",
            outcome="follow_up",
            themes=("housing",),
            handoff_id=handoff_id,
            follow_up_on=tuesday.date() + timedelta(days=7),
        ),
        clock.now,
    )
    assert desk.close(handoff_id, desk.team.find("samira"), via="desk").ok
    clock.now = on_day(tuesday, 6, 9, 0)
    desk.tick()
    assert events(desk, "follow_up") == []
    clock.now = on_day(tuesday, 7, 9, 0)
    desk.tick()
    desk.tick()
    assert events(desk, "follow_up") == [handoff_id]  # reminded once
    (reminder,) = [n for n in notices(desk) if "opvolgen" in n]
    assert f"#{handoff_id}" in reminder and "tg://user?id=900000001" in reminder
    assert [r.handoff_id for r in store.follow_ups("samira", clock.now.date())] == [handoff_id]


@any_date
def test_waiting_times_are_kept_anonymously_once_per_handoff(
    desk: HandoffDesk, clock: Clock, tmp_path: Path
) -> None:
    tuesday = clock.now
    handoff_id = picked_up_by_samira(desk)  # picked up at once
    clock.now = on_day(tuesday, 0, 15, 0)
    samira = desk.team.find("samira")
    assert desk.close(handoff_id, samira, via="desk").ok
    assert desk.reopen(handoff_id, samira).ok
    assert desk.close(handoff_id, samira, via="desk").ok  # closed again: counted once
    other = desk.open(
        Incoming("q2", channel="whatsapp"), HandoffRequest("human_request", False, "fr"), []
    ).handoff_id
    clock.now = on_day(tuesday, 2, 15, 0)  # never picked up, two working days later
    assert desk.close(other, desk.team.find("nadia"), via="desk").ok
    with sqlite3.connect(tmp_path / "state.db") as db:
        rows = db.execute(
            "SELECT closed_on, area, language, channel, to_pickup_s, to_close_s, "
            "over_working_day FROM handoff_times ORDER BY rowid"
        ).fetchall()
        columns = [c[1] for c in db.execute("PRAGMA table_info(handoff_times)")]
    assert rows == [
        (tuesday.date().isoformat(), "heverlee", "ar", "telegram", 0, 5 * 3600, 0),
        (
            (tuesday.date() + timedelta(days=2)).isoformat(),
            "",
            "fr",
            "whatsapp",
            None,
            2 * 86400,
            1,
        ),
    ]
    assert not {"chat_key", "chat_id", "worker", "worker_key"} & set(columns)


def test_a_bad_quiet_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEGWIJS_QUIET_HOURS", "soon")
    with pytest.raises(QuietError, match="WEGWIJS_QUIET_HOURS"):
        QuietPolicy.from_env()
    monkeypatch.setenv("WEGWIJS_QUIET_HOURS", "2.5")
    assert QuietPolicy.from_env().hours == 2.5
