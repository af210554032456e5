"""The handoff desk: opens a handoff when a parent consents, relays messages both ways while a
bridge worker has it, closes it, and makes sure no handoff is forgotten.

It is channel-agnostic: messages for the staff group and for parents go into the outbox as
platform-neutral actions, and each channel's sender turns them into API calls. Time comes from
the state store's one clock (:mod:`bot.clock`), so the 30-minute re-announcement and the 2-hour
escalation can be tested at any date.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.conversation.buttons import helped_buttons, next_buttons
from bot.conversation.i18n import Lang
from bot.conversation.messages import HandoffRequest, Incoming, MediaRef, Reply
from bot.conversation.state import StateStore
from bot.handoff import parent_texts, staff_texts
from bot.handoff.outbox import Outbox
from bot.handoff.routing import route
from bot.handoff.store import Handoff, HandoffStore
from bot.handoff.workers import BridgeWorker, Team

log = logging.getLogger(__name__)
REANNOUNCE_AFTER = timedelta(minutes=30)
ESCALATE_AFTER = timedelta(hours=2)
STAFF = "staff"
PARENT = "parent"


@dataclass(frozen=True)
class RecentItem:
    """One line of "the conversation so far", kept in memory until the parent consents."""

    at: datetime
    sender: str  # parent or bot
    kind: str
    text: str
    media: MediaRef | None = None


@dataclass(frozen=True)
class Ticket:
    handoff_id: int
    worker: BridgeWorker | None
    available_now: bool
    available_at: datetime | None
    already_open: bool = False


@dataclass(frozen=True)
class StaffAnswer:
    """What the staff room should tell the worker who acted (None: say nothing)."""

    ok: bool
    notice: str | None = None


def reply_payload(chat_key: str, reply: Reply) -> dict[str, object]:
    channel, _, chat_id = chat_key.partition(":")
    return {
        "channel": channel,
        "chat_id": chat_id,
        "text": reply.text,
        "buttons": [[(b.label, b.payload) for b in row] for row in reply.buttons],
    }


def media_payload(chat_key: str, media: MediaRef, caption: str) -> dict[str, object]:
    channel, _, chat_id = chat_key.partition(":")
    return {"channel": channel, "chat_id": chat_id, "media": asdict(media), "caption": caption}


class HandoffDesk:
    def __init__(
        self,
        state: StateStore,
        team: Team,
        *,
        staff_room: bool = True,
        school_names: Callable[[str], str | None] = lambda school_id: None,
    ) -> None:
        self.state = state
        self.store = HandoffStore(state)
        self.outbox = Outbox(state)
        self.team = team
        self.clock: Clock = state.clock  # the one clock (bot.clock) lives in the state store
        self.staff_room = staff_room  # False in the terminal chat: handoffs are only recorded
        self.school_names = school_names

    # -- parents -----------------------------------------------------------------------------

    def open_for(self, chat_key: str) -> Handoff | None:
        return self.store.open_for_chat(chat_key)

    def send_to_parent(self, chat_key: str, reply: Reply, handoff_id: int | None = None) -> None:
        self.outbox.put(PARENT, chat_key, "reply", reply_payload(chat_key, reply), handoff_id)

    def open(self, msg: Incoming, request: HandoffRequest, recent: list[RecentItem]) -> Ticket:
        """Open a handoff for this chat (or return the one already open)."""
        now = self.clock()
        existing = self.store.open_for_chat(msg.chat_key)
        if existing is not None:
            worker = self._worker(existing.worker_id or existing.routed_to)
            return Ticket(existing.id, worker, False, None, already_open=True)
        chosen = route(
            self.team,
            at=now,
            language=request.language,
            area=request.area,
            school=request.school,
            urgent=request.urgent,
            load=self.store.load_by_worker(),
        )
        if request.urgent or self.team.anyone_on_duty(now):
            due = now
        else:
            due = self.team.next_on_duty(now) or now
        handoff = self.store.create(
            chat_key=msg.chat_key,
            channel=msg.channel,
            chat_id=msg.chat_id,
            reason=request.reason,
            urgent=request.urgent,
            need=request.need,
            area=request.area,
            school=request.school,
            language=request.language,
            routed_to=chosen.worker.telegram_user_id if chosen else None,
            routed_why=chosen.why if chosen else None,
            now=now,
            due_at=due,
        )
        for item in recent:
            self.store.add_message(handoff.id, item.sender, item.kind, item.text, item.at)
        self.state.count_handoff(
            request.reason, request.need, request.area, request.language, request.urgent
        )
        log.info(
            "handoff %d opened (reason=%s urgent=%s)", handoff.id, request.reason, request.urgent
        )
        if self.staff_room:
            summary = staff_texts.summary(
                handoff,
                chosen.worker if chosen else None,
                chosen.available_at if chosen else None,
                self.school_names(request.school) if request.school else None,
                [(item.at, item.sender, item.kind, item.text) for item in recent],
                self.team.coordinators,
            )
            self.outbox.put(
                STAFF,
                STAFF,
                "open_topic",
                {
                    "name": staff_texts.topic_name(handoff),
                    "summary": summary,
                    "urgent": handoff.urgent,
                },
                handoff.id,
            )
            for item in recent:
                if item.media is not None:
                    self._to_staff_media(handoff, item.media, item.text)
        if chosen is None:
            return Ticket(handoff.id, None, False, None)
        return Ticket(handoff.id, chosen.worker, chosen.available_now, chosen.available_at)

    def ticket_reply(self, ticket: Ticket, language: str, urgent: bool) -> Reply:
        t = Lang(language)
        if ticket.already_open:
            return Reply(parent_texts.already_passed_on(t))
        worker = ticket.worker
        return Reply(
            parent_texts.passed_on(
                t,
                worker.first_name if worker else None,
                worker.languages if worker else (),
                ticket.available_now,
                ticket.available_at,
                self.clock(),
                urgent,
            )
        )

    def from_parent(self, handoff: Handoff, msg: Incoming) -> None:
        """A parent's message in a handed-off chat goes to the topic; the bot says nothing."""
        now = self.clock()
        text = msg.text or ""
        self.store.add_message(handoff.id, "parent", msg.kind, text, now)
        if not self.staff_room:
            return
        if msg.media is not None:
            self._to_staff_media(handoff, msg.media, text)
        elif text:
            self.outbox.put(
                STAFF, STAFF, "post", {"text": staff_texts.parent_says(text)}, handoff.id
            )
        else:
            kind = {"location": "een locatie", "other": "iets dat de bot niet kan doorsturen"}
            self.outbox.put(
                STAFF,
                STAFF,
                "post",
                {"text": f"👤 (de ouder stuurde {kind.get(msg.kind, msg.kind)})"},
                handoff.id,
            )

    def _to_staff_media(self, handoff: Handoff, media: MediaRef, caption: str) -> None:
        self.outbox.put(
            STAFF,
            STAFF,
            "media",
            {
                "media": asdict(media),
                "caption": staff_texts.parent_says(caption) if caption else "👤",
            },
            handoff.id,
        )

    def forget(self, chat_key: str) -> None:
        """The parent asked to erase everything: delete their topics in the staff group too
        (the rows themselves are erased with the rest of the chat by the state store)."""
        if not self.staff_room:
            return
        for handoff in self.store.for_chat(chat_key):
            if handoff.topic_id is not None:
                payload = {"topic_id": handoff.topic_id, "text": staff_texts.parent_forgot(handoff)}
                self.outbox.put(STAFF, STAFF, "forget_topic", payload, None)

    def close_idle(self, handoffs: list[Handoff], days: int) -> None:
        """Nothing happened in these for ``days``: close them, so that their retention time
        starts (an open conversation is never erased). The parent is not messaged."""
        now = self.clock()
        for handoff in handoffs:
            if self.store.close(handoff.id, now):
                log.info("handoff %d closed after %d idle days", handoff.id, days)
                text = staff_texts.closed_idle(handoff, days)
                self.outbox.put(STAFF, STAFF, "closed", {"text": text}, handoff.id)

    def expire(self, handoffs: list[Handoff], days: int) -> None:
        """Their retention time is over: delete their topics in the staff group, because a topic
        is a transcript too (the rows are erased by the purge, :mod:`bot.retention`). Queued
        even without a staff room here (``wegwijs purge``, the terminal chat): a topic id means
        a staff group made it, and the deletion waits in the outbox for ``serve``."""
        for handoff in handoffs:
            if handoff.topic_id is not None:
                payload = {"topic_id": handoff.topic_id, "text": staff_texts.expired(handoff, days)}
                self.outbox.put(STAFF, STAFF, "forget_topic", payload, None)

    def tell_worker(self, handoff_id: int | None, text: str) -> None:
        """A note in the handoff's topic from the bot (WhatsApp's 24-hour window, a refused
        file), posted like a parent's message so it keeps its place in the conversation."""
        if self.staff_room and handoff_id is not None:
            self.outbox.put(STAFF, STAFF, "post", {"text": text}, handoff_id)

    def worker_name(self, handoff_id: int | None) -> str | None:
        handoff = self.store.get(handoff_id) if handoff_id is not None else None
        worker = self._worker(handoff.worker_id or handoff.routed_to) if handoff else None
        return worker.first_name if worker else None

    # -- bridge workers ----------------------------------------------------------------------

    def _worker(self, user_id: int | None) -> BridgeWorker | None:
        return next((w for w in self.team.workers if w.telegram_user_id == user_id), None)

    def pick_up(self, handoff_id: int, user_id: int | None) -> StaffAnswer:
        worker = self.team.by_user(user_id)
        if worker is None:
            return StaffAnswer(False, staff_texts.NOT_A_WORKER)
        handoff = self.store.get(handoff_id)
        if handoff is None or not handoff.is_open:
            return StaffAnswer(False, staff_texts.ALREADY_CLOSED)
        if not self.store.pick_up(handoff_id, worker.telegram_user_id, self.clock()):
            if handoff.worker_id == worker.telegram_user_id:
                return StaffAnswer(True, "Deze vraag staat al op jouw naam.")
            return StaffAnswer(False, staff_texts.already_taken(self._worker(handoff.worker_id)))
        self._announce_pickup(handoff, worker)
        return StaffAnswer(True, f"Vraag #{handoff_id} staat nu op jouw naam.")

    def _announce_pickup(self, handoff: Handoff, worker: BridgeWorker) -> None:
        log.info("handoff %d picked up", handoff.id)
        self.outbox.put(
            STAFF, STAFF, "picked_up", {"text": staff_texts.picked_up(worker)}, handoff.id
        )
        t = Lang(handoff.language)
        reply = Reply(parent_texts.picked_up(t, worker.first_name, worker.languages))
        self.send_to_parent(handoff.chat_key, reply, handoff.id)

    def from_worker(
        self, topic_id: int, user_id: int | None, kind: str, text: str, media: MediaRef | None
    ) -> StaffAnswer | None:
        """A message in a handoff topic: relayed to the parent when a listed worker wrote it."""
        handoff = self.store.by_topic(topic_id)
        if handoff is None:
            return None
        worker = self.team.by_user(user_id)
        if worker is None:
            log.info("staff group: ignored a message from someone who is not a listed worker")
            return None
        if not handoff.is_open:
            return StaffAnswer(False, staff_texts.ALREADY_CLOSED + " De ouder krijgt dit niet.")
        if handoff.status == "waiting" and self.store.pick_up(
            handoff.id, worker.telegram_user_id, self.clock()
        ):
            self._announce_pickup(handoff, worker)  # writing in the topic counts as picking up
        self.store.add_message(handoff.id, "worker", kind, text, self.clock())
        t = Lang(handoff.language)
        if media is not None:
            caption = parent_texts.from_worker(t, worker.first_name, text)
            self.outbox.put(
                PARENT,
                handoff.chat_key,
                "media",
                media_payload(handoff.chat_key, media, caption),
                handoff.id,
            )
        elif text:
            reply = Reply(parent_texts.from_worker(t, worker.first_name, text))
            self.send_to_parent(handoff.chat_key, reply, handoff.id)
        else:
            return StaffAnswer(False, staff_texts.CANNOT_RELAY)
        return StaffAnswer(True)

    def close(self, handoff_id: int, user_id: int | None) -> StaffAnswer:
        worker = self.team.by_user(user_id)
        if worker is None:
            return StaffAnswer(False, staff_texts.NOT_A_WORKER)
        handoff = self.store.get(handoff_id)
        if handoff is None or not self.store.close(handoff_id, self.clock()):
            return StaffAnswer(False, staff_texts.ALREADY_CLOSED)
        log.info("handoff %d closed", handoff_id)
        self.outbox.put(STAFF, STAFF, "closed", {"text": staff_texts.closed(worker)}, handoff_id)
        t = Lang(handoff.language)
        reply = Reply(
            parent_texts.closed(t, worker.first_name),
            helped_buttons(t, handoff_id) + next_buttons(t),
        )
        self.send_to_parent(handoff.chat_key, reply, handoff_id)
        return StaffAnswer(True, f"Vraag #{handoff_id} is afgesloten.")

    def close_topic(self, topic_id: int, user_id: int | None) -> StaffAnswer | None:
        handoff = self.store.by_topic(topic_id)
        if handoff is None:
            return None
        return self.close(handoff.id, user_id)

    # -- nothing is forgotten ------------------------------------------------------------------

    def tick(self) -> None:
        """Re-announce waiting handoffs every 30 minutes of working time; escalate after 2 h."""
        if not self.staff_room:
            return
        now = self.clock()
        on_duty = self.team.anyone_on_duty(now)
        for handoff in self.store.waiting():
            if now < handoff.due_at:
                continue  # nobody works yet: the parent was told when someone will answer
            waited = now - handoff.due_at
            routed = self._worker(handoff.routed_to)
            if (
                handoff.escalated_at is None
                and waited >= ESCALATE_AFTER
                and (on_duty or handoff.urgent)  # nobody is woken at night for a normal question
            ):
                minutes = int(waited.total_seconds() // 60)
                text = staff_texts.escalate(handoff, self.team.coordinators, minutes)
                self._notice(handoff, text)
                self.store.update(handoff.id, escalated_at=now, announced_at=now)
                log.info("handoff %d escalated", handoff.id)
            elif on_duty and now - (handoff.announced_at or handoff.created_at) >= REANNOUNCE_AFTER:
                minutes = int(waited.total_seconds() // 60)
                self._notice(handoff, staff_texts.reannounce(handoff, routed, minutes))
                self.store.update(handoff.id, announced_at=now)
                log.info("handoff %d announced again", handoff.id)

    def _notice(self, handoff: Handoff, text: str) -> None:
        self.outbox.put(
            STAFF,
            STAFF,
            "notice",
            {"text": text, "buttons": [[("✋ Oppakken", f"staff:pickup:{handoff.id}")]]},
            handoff.id,
        )
