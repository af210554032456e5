"""The handoff desk without any platform: what it queues for the staff group and for parents."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from e2e import Clock, any_date, on_day

from bot.conversation.messages import HandoffRequest, Incoming, MediaRef
from bot.conversation.state import StateStore
from bot.handoff.desk import HandoffDesk, RecentItem
from bot.handoff.workers import SAMPLE_FILE, BridgeWorker, load_team

SAMIRA, JONAS, NADIA, PIETER, STRANGER = 900000001, 900000002, 900000003, 900000004, 42


@pytest.fixture
def desk(clock: Clock, state_db: Path | str) -> HandoffDesk:
    """On SQLite and on PostgreSQL (``state_db`` in conftest)."""
    return HandoffDesk(StateStore(state_db, clock), load_team(SAMPLE_FILE))


def by(desk: HandoffDesk, user_id: int) -> BridgeWorker | None:
    """The worker behind a Telegram user id, as the staff group resolves them."""
    return desk.team.by_user(user_id)


def queued(desk: HandoffDesk, lane: str) -> list[tuple[str, dict]]:
    return [
        (item.action, item.payload) for items in desk.outbox.due(lane).values() for item in items
    ]


def open_one(desk: HandoffDesk, chat: str = "1", **kw: object) -> int:
    values: dict[str, object] = {
        "reason": "human_request",
        "urgent": False,
        "language": "ar",
        "area": "heverlee",
    }
    values.update(kw)
    recent = [
        RecentItem(desk.clock(), "parent", "text", "<b>ik</b> heb hulp nodig"),
        RecentItem(
            desk.clock(), "parent", "photo", "", MediaRef("telegram", "photo", "F1", chat, 7)
        ),
    ]
    ticket = desk.open(Incoming(chat, channel="telegram"), HandoffRequest(**values), recent)  # type: ignore[arg-type]
    return ticket.handoff_id


def test_opening_announces_a_topic_with_the_conversation_so_far(desk: HandoffDesk) -> None:
    msg = Incoming("1", channel="telegram")
    ticket = desk.open(
        msg,
        HandoffRequest("human_request", False, "ar", "school_costs", "heverlee"),
        [RecentItem(desk.clock(), "parent", "text", "<b>ik</b> heb hulp nodig")],
    )
    assert (
        ticket.worker is not None and ticket.worker.first_name == "Samira" and ticket.available_now
    )
    ((action, payload),) = queued(desk, "staff")
    assert action == "open_topic"
    assert payload["name"] == "#1 · Arabisch · Heverlee · Schoolkosten"
    assert "&lt;b&gt;ik&lt;/b&gt; heb hulp nodig" in payload["summary"]  # escaped, never HTML
    assert "tg://user?id=900000001" in payload["summary"]
    reply = desk.ticket_reply(ticket, "ar", urgent=False)
    assert "Samira" in reply.text and "العربية" in reply.text
    again = desk.open(msg, HandoffRequest("human_request", False, "ar"), [])
    assert again.already_open and again.handoff_id == ticket.handoff_id


def test_a_photo_sent_before_consent_follows_the_summary(desk: HandoffDesk) -> None:
    open_one(desk)
    actions = [action for action, _ in queued(desk, "staff")]
    assert actions == ["open_topic", "media"]


def test_only_listed_active_workers_can_pick_up_reply_or_close(desk: HandoffDesk) -> None:
    handoff_id = open_one(desk)
    desk.store.update(handoff_id, topic_id=100)
    assert not desk.pick_up(handoff_id, by(desk, STRANGER)).ok
    assert not desk.pick_up(handoff_id, by(desk, PIETER)).ok  # inactive
    assert not desk.pick_up(handoff_id, desk.team.find("pieter")).ok  # inactive, by key
    assert desk.from_worker(100, STRANGER, "text", "hallo", None) is None
    assert not desk.close(handoff_id, by(desk, STRANGER)).ok
    assert queued(desk, "parent") == []
    assert desk.pick_up(handoff_id, by(desk, JONAS)).ok
    taken = desk.pick_up(handoff_id, by(desk, SAMIRA))
    assert not taken.ok and "Jonas" in (taken.notice or "")
    parent = queued(desk, "parent")
    assert len(parent) == 1 and "Jonas" in parent[0][1]["text"]


def test_a_worker_writing_in_the_topic_picks_it_up_and_reaches_the_parent(
    desk: HandoffDesk,
) -> None:
    handoff_id = open_one(desk)
    desk.store.update(handoff_id, topic_id=100)
    assert desk.from_worker(100, SAMIRA, "text", "Dag! Ik help je graag.", None)
    handoff = desk.store.get(handoff_id)
    assert handoff is not None and handoff.status == "active" and handoff.worker_key == "samira"
    texts = [payload["text"] for _, payload in queued(desk, "parent")]
    assert len(texts) == 2 and texts[1].endswith("Dag! Ik help je graag.")
    photo = MediaRef("telegram", "photo", "F2", "-100", 9)
    desk.from_worker(100, SAMIRA, "photo", "het formulier", photo)
    action, payload = queued(desk, "parent")[-1]
    assert action == "media" and payload["media"]["file_id"] == "F2"
    assert desk.close(handoff_id, by(desk, SAMIRA)).ok
    assert desk.open_for("telegram:1") is None
    closed = desk.from_worker(100, SAMIRA, "text", "nog iets", None)
    assert closed is not None and not closed.ok


@any_date
def test_waiting_handoffs_are_announced_again_and_escalated(
    desk: HandoffDesk, clock: Clock
) -> None:
    open_one(desk)
    desk.tick()
    assert [a for a, _ in queued(desk, "staff")] == ["open_topic", "media"]
    clock.now += timedelta(minutes=31)
    desk.tick()
    notices = [p["text"] for a, p in queued(desk, "staff") if a == "notice"]
    assert len(notices) == 1 and "31 minuten" in notices[0]
    clock.now += timedelta(minutes=10)
    desk.tick()  # not again within 30 minutes
    assert len([a for a, _ in queued(desk, "staff") if a == "notice"]) == 1
    clock.now += timedelta(minutes=80)  # 2 h 1 min
    desk.tick()
    notices = [p["text"] for a, p in queued(desk, "staff") if a == "notice"]
    assert len(notices) == 2 and "tg://user?id=900000003" in notices[1]  # Nadia, coordinator
    assert "2 uur" in notices[1]


@any_date
def test_outside_working_hours_the_parent_is_told_when_and_nobody_is_nagged(
    desk: HandoffDesk, clock: Clock
) -> None:
    tuesday = clock.now
    clock.now = on_day(tuesday, 4, 20)  # Saturday evening
    msg = Incoming("5", channel="telegram")
    ticket = desk.open(msg, HandoffRequest("human_request", False, "fr", area="kessel-lo"), [])
    assert ticket.worker is not None and ticket.worker.first_name == "Jonas"
    assert not ticket.available_now
    text = desk.ticket_reply(ticket, "fr", urgent=False).text
    assert "lundi" in text and "09:00" in text
    clock.now += timedelta(hours=12)  # Sunday morning
    desk.tick()
    assert [a for a, _ in queued(desk, "staff")] == ["open_topic"]
    clock.now = on_day(tuesday, 6, 9, 1)  # Monday: announced again at once
    desk.tick()
    assert [a for a, _ in queued(desk, "staff")] == ["open_topic", "notice"]


def test_forget_deletes_the_topic_and_every_row(clock: Clock, state_db: Path | str) -> None:
    state = StateStore(state_db, clock)
    desk = HandoffDesk(state, load_team(SAMPLE_FILE))
    handoff_id = open_one(desk)
    desk.store.update(handoff_id, topic_id=100)
    desk.store.add_message(handoff_id, "parent", "text", "geheim", desk.clock())
    desk.forget("telegram:1")  # the router calls this, then the engine erases the chat
    state.forget("telegram:1")
    assert desk.store.for_chat("telegram:1") == []
    assert desk.store.transcript(handoff_id) == []
    actions = [(a, p.get("topic_id")) for a, p in queued(desk, "staff")]
    assert ("forget_topic", 100) in actions


def test_handoffs_and_the_outbox_survive_a_restart(state_db: Path | str, clock: Clock) -> None:
    team = load_team(SAMPLE_FILE)
    first = HandoffDesk(StateStore(state_db, clock), team)
    handoff_id = open_one(first)
    first.store.update(handoff_id, topic_id=123)
    second = HandoffDesk(StateStore(state_db, clock), team)
    handoff = second.open_for("telegram:1")
    assert handoff is not None and handoff.id == handoff_id and handoff.topic_id == 123
    assert [a for a, _ in queued(second, "staff")] == ["open_topic", "media"]


def test_a_sticker_from_a_worker_is_not_lost_silently(desk: HandoffDesk) -> None:
    handoff_id = open_one(desk)
    desk.store.update(handoff_id, topic_id=100)
    answer = desk.from_worker(100, SAMIRA, "other", "", None)
    assert answer is not None and not answer.ok and "niet doorsturen" in (answer.notice or "")


@any_date
def test_a_normal_question_is_not_escalated_at_night(desk: HandoffDesk, clock: Clock) -> None:
    tuesday = clock.now
    clock.now = on_day(tuesday, 0, 16)  # Tuesday, Samira ends 16:30
    open_one(desk)
    clock.now = on_day(tuesday, 0, 22)
    desk.tick()
    assert [a for a, _ in queued(desk, "staff")] == ["open_topic", "media"]
    clock.now = on_day(tuesday, 1, 8, 31)  # Wednesday: Samira starts
    desk.tick()
    notices = [p["text"] for a, p in queued(desk, "staff") if a == "notice"]
    assert len(notices) == 1 and "uur" in notices[0]


def test_a_long_conversation_still_fits_one_summary_with_its_button(desk: HandoffDesk) -> None:
    recent = [RecentItem(desk.clock(), "parent", "text", "<" * 2000) for _ in range(12)]
    desk.open(
        Incoming("9", channel="telegram"), HandoffRequest("human_request", False, "nl"), recent
    )
    (_, payload), *_ = queued(desk, "staff")
    summary = payload["summary"]
    assert len(summary) <= 4096 and "Oppakken" in summary
    assert "&lt;" in summary and "&l…" not in summary and "<<" not in summary


async def test_held_messages_wait_aside_and_come_back_in_their_order(desk: HandoffDesk) -> None:
    """WhatsApp's 24-hour window: held items leave the line, and return ahead of newer ones."""
    from bot.handoff.outbox import Held, Item

    outbox = desk.outbox
    for text in ("answer 1", "answer 2"):
        outbox.put("parent", "whatsapp:1", "reply", {"text": text, "channel": "whatsapp"})
    window_open = False
    sent: list[str] = []

    async def deliver(items: list[Item]) -> int:
        if not window_open:
            raise Held()
        sent.append(items[0].payload["text"])
        return 1

    assert await outbox.drain("parent", deliver) == 0
    assert outbox.count_pending() == 0 and outbox.count_held() == 2
    window_open = True  # the parent writes again: their window opens, the bot answers them
    assert outbox.release("parent", "whatsapp:1") == 2
    outbox.put("parent", "whatsapp:1", "reply", {"text": "bot reply", "channel": "whatsapp"})
    assert await outbox.drain("parent", deliver) == 3
    assert sent == ["answer 1", "answer 2", "bot reply"]


def test_the_window_follows_the_parents_last_message_and_forget_erases_it(
    state_db: Path | str,
) -> None:
    state = StateStore(state_db)
    state.heard_from("whatsapp:1", 1000.0)
    state.heard_from("whatsapp:1", 900.0)  # a late re-delivery does not move it back
    state.nudged("whatsapp:1", 2000.0)
    assert state.last_heard("whatsapp:1") == (1000.0, 2000.0)
    state.heard_from("whatsapp:1", 3000.0)  # the parent wrote: a new template may go later
    assert state.last_heard("whatsapp:1") == (3000.0, None)
    state.forget("whatsapp:1")
    assert state.last_heard("whatsapp:1") == (None, None)


@any_date
def test_a_handoff_nobody_closes_is_closed_after_the_retention_time_then_erased(
    desk: HandoffDesk, clock: Clock
) -> None:
    from bot.retention import Retention, purge

    handoff_id = open_one(desk, "idle-1")
    desk.store.update(handoff_id, topic_id=77)
    busy = open_one(desk, "busy-1")
    policy = Retention(30)
    clock.now += timedelta(days=29)
    purge(desk.state, desk, policy, clock())
    assert desk.store.get(handoff_id).is_open  # type: ignore[union-attr]
    desk.from_parent(desk.store.get(busy), Incoming("busy-1", "nog iets", channel="telegram"))  # type: ignore[arg-type]
    clock.now += timedelta(days=2)
    purge(desk.state, desk, policy, clock())
    closed = desk.store.get(handoff_id)
    assert closed is not None and closed.status == "closed"
    assert desk.store.get(busy).is_open  # type: ignore[union-attr]  # it had a message 2 days ago
    assert any(
        action == "closed" and "30 dagen geen bericht" in str(payload["text"])
        for action, payload in queued(desk, "staff")
    )
    clock.now += timedelta(days=31)
    result = purge(desk.state, desk, policy, clock())
    assert desk.store.get(handoff_id) is None and desk.store.transcript(handoff_id) == []
    assert result.topics == 1
    assert any(a == "forget_topic" and p["topic_id"] == 77 for a, p in queued(desk, "staff"))
