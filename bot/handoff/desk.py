"""The handoff desk: opens a handoff when a parent consents, relays messages both ways while a
bridge worker has it, closes it, and makes sure no handoff is forgotten.

It is channel-agnostic: messages for the staff group and for parents go into the outbox as
platform-neutral actions, and each channel's sender turns them into API calls. Bridge workers
act from two places, the Telegram staff group and the web desk (:mod:`bot.desk`), and both go
through the same methods here: what one place does is posted to the other (the staff lane of
the outbox for the Telegram topic; the database and its event log for the desk). A deployment
without a Telegram staff group (``staff_room=False``) queues nothing for one.

Time comes from the state store's one clock (:mod:`bot.clock`), so the 30-minute
re-announcement and the 2-hour escalation can be tested at any date.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, local_day
from bot.conversation.buttons import helped_buttons, next_buttons
from bot.conversation.i18n import Lang
from bot.conversation.messages import HandoffRequest, Incoming, MediaRef, Reply
from bot.conversation.state import StateStore
from bot.followup.quiet import WORKING_DAY, QuietPolicy, working_time
from bot.handoff import parent_texts, staff_texts
from bot.handoff.events import EventLog
from bot.handoff.files import DeskFiles
from bot.handoff.outbox import Outbox
from bot.handoff.registrations import RegistrationStore
from bot.handoff.routing import route
from bot.handoff.store import Handoff, HandoffStore
from bot.handoff.workers import BridgeWorker, Team, TeamFile

log = logging.getLogger(__name__)
REANNOUNCE_AFTER = timedelta(minutes=30)
DEFAULT_HOURS = "Mo-Fr 09:00-17:00; PH off"  # a worker no longer in the file: office hours
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


def reply_payload(chat_key: str, reply: Reply, said: int | None = None) -> dict[str, object]:
    """``said``: the transcript line this is, so the desk can show it as sent, held or failed."""
    channel, _, chat_id = chat_key.partition(":")
    payload: dict[str, object] = {
        "channel": channel,
        "chat_id": chat_id,
        "text": reply.text,
        "buttons": [[(b.label, b.payload) for b in row] for row in reply.buttons],
    }
    if said is not None:
        payload["said"] = said
    return payload


def media_payload(
    chat_key: str, media: MediaRef, caption: str, said: int | None = None
) -> dict[str, object]:
    channel, _, chat_id = chat_key.partition(":")
    payload: dict[str, object] = {
        "channel": channel,
        "chat_id": chat_id,
        "media": asdict(media),
        "caption": caption,
    }
    if said is not None:
        payload["said"] = said
    return payload


class HandoffDesk:
    def __init__(
        self,
        state: StateStore,
        team: Team | TeamFile,
        *,
        staff_room: bool = True,
        school_names: Callable[[str], str | None] = lambda school_id: None,
        quiet: QuietPolicy | None = None,
        files: DeskFiles | None = None,
    ) -> None:
        self.state = state
        self.store = HandoffStore(state)
        self.outbox = Outbox(state)
        self.events = EventLog(state)
        self.files = files or DeskFiles(state, None)
        self._team = team
        self.clock: Clock = state.clock  # the one clock (bot.clock) lives in the state store
        # False without a Telegram staff group (the terminal chat, a desk-only deployment):
        # nothing is queued for a group that does not exist; the desk shows everything.
        self.staff_room = staff_room
        self.school_names = school_names
        self.quiet = quiet or QuietPolicy()
        self.registrations = RegistrationStore(state)
        telegram_ids = {w.telegram_user_id: w.key for w in self.team.workers if w.telegram_user_id}
        if self.store.adopt_legacy_keys(telegram_ids):
            log.info("handoffs: workers' Telegram ids replaced by their keys")

    @property
    def team(self) -> Team:
        """The bridge workers now (the file is read again when it changes)."""
        return self._team.current() if isinstance(self._team, TeamFile) else self._team

    def _staff(
        self, action: str, payload: dict[str, object], handoff_id: int | None = None
    ) -> None:
        """Queue an action for the Telegram staff group, when there is one."""
        if self.staff_room:
            self.outbox.put(STAFF, STAFF, action, payload, handoff_id)

    def _event(self, handoff_id: int | None, kind: str, worker: str | None = None) -> None:
        self.events.add(handoff_id, kind, self.clock(), worker)

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
            worker = self.team.find(existing.assigned_key)
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
            routed_key=chosen.worker.key if chosen else None,
            routed_why=chosen.why if chosen else None,
            now=now,
            due_at=due,
        )
        for item in recent:
            self.store.add_message(
                handoff.id, item.sender, item.kind, item.text, item.at, media=item.media
            )
        self._event(handoff.id, "opened", handoff.routed_key)
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
            self._staff(
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
        self.store.add_message(handoff.id, "parent", msg.kind, text, now, media=msg.media)
        self._event(handoff.id, "parent", handoff.worker_key)
        if not self.staff_room:
            return
        if msg.media is not None:
            self._to_staff_media(handoff, msg.media, text)
        elif text:
            self._staff("post", {"text": staff_texts.parent_says(text)}, handoff.id)
        else:
            kind = {"location": "een locatie", "other": "iets dat de bot niet kan doorsturen"}
            self._staff(
                "post",
                {"text": f"👤 (de ouder stuurde {kind.get(msg.kind, msg.kind)})"},
                handoff.id,
            )

    def _to_staff_media(self, handoff: Handoff, media: MediaRef, caption: str) -> None:
        self._staff(
            "media",
            {
                "media": asdict(media),
                "caption": staff_texts.parent_says(caption) if caption else "👤",
            },
            handoff.id,
        )

    def forget(self, chat_key: str) -> None:
        """The parent asked to erase everything: delete their topics in the staff group and the
        files workers sent them from the desk too (the rows themselves are erased with the rest
        of the chat by the state store)."""
        self.files.delete_for_chat(chat_key)
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
                self._record_times(handoff)
                log.info("handoff %d closed after %d idle days", handoff.id, days)
                self._event(handoff.id, "closed")
                text = staff_texts.closed_idle(handoff, days)
                self._staff("closed", {"text": text}, handoff.id)

    def expire(self, handoffs: list[Handoff], days: int) -> None:
        """Their retention time is over: delete their topics in the staff group, because a topic
        is a transcript too (the rows are erased by the purge, :mod:`bot.retention`). Queued
        even without a staff room here (``wegwijs purge``, the terminal chat): a topic id means
        a staff group made it, and the deletion waits in the outbox for ``serve``."""
        for handoff in handoffs:
            if handoff.topic_id is not None:
                payload = {"topic_id": handoff.topic_id, "text": staff_texts.expired(handoff, days)}
                self.outbox.put(STAFF, STAFF, "forget_topic", payload, None)

    def tell_worker(self, handoff_id: int | None, text: str, kind: str = "notice") -> None:
        """A note about the handoff from the bot (WhatsApp's 24-hour window, a refused file),
        in its topic (posted like a parent's message so it keeps its place in the
        conversation) and in the desk's transcript."""
        if handoff_id is None or self.store.get(handoff_id) is None:
            return
        self.store.add_message(handoff_id, "system", "text", text, self.clock())
        self._event(handoff_id, kind)
        self._staff("post", {"text": text}, handoff_id)

    def worker_name(self, handoff_id: int | None) -> str | None:
        handoff = self.store.get(handoff_id) if handoff_id is not None else None
        worker = self.team.find(handoff.assigned_key) if handoff else None
        return worker.first_name if worker else None

    # -- bridge workers (from the staff group or the desk) -------------------------------------

    def pick_up(
        self, handoff_id: int, worker: BridgeWorker | None, via: str = "telegram"
    ) -> StaffAnswer:
        """``worker``: the active worker who pressed the button (None: not a listed one)."""
        if worker is None or not worker.active:
            return StaffAnswer(False, staff_texts.NOT_A_WORKER)
        handoff = self.store.get(handoff_id)
        if handoff is None or not handoff.is_open:
            return StaffAnswer(False, staff_texts.ALREADY_CLOSED)
        if not self.store.pick_up(handoff_id, worker.key, self.clock()):
            now = self.store.get(handoff_id)
            if now is not None and now.worker_key == worker.key:
                return StaffAnswer(True, "Deze vraag staat al op jouw naam.")
            if now is None or not now.is_open:
                return StaffAnswer(False, staff_texts.ALREADY_CLOSED)
            return StaffAnswer(False, staff_texts.already_taken(self.team.find(now.worker_key)))
        self._announce_pickup(handoff, worker, via)
        return StaffAnswer(True, f"Vraag #{handoff_id} staat nu op jouw naam.")

    def _announce_pickup(self, handoff: Handoff, worker: BridgeWorker, via: str) -> None:
        log.info("handoff %d picked up", handoff.id)
        self._event(handoff.id, "picked_up", worker.key)
        self._staff("picked_up", {"text": staff_texts.picked_up(worker, via)}, handoff.id)
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
        if handoff.status == "waiting" and self.store.pick_up(handoff.id, worker.key, self.clock()):
            self._announce_pickup(handoff, worker, "telegram")  # writing counts as picking up
        return self._relay(handoff, worker, kind, text, media)

    def _relay(
        self, handoff: Handoff, worker: BridgeWorker, kind: str, text: str, media: MediaRef | None
    ) -> StaffAnswer:
        if media is None and not text:
            return StaffAnswer(False, staff_texts.CANNOT_RELAY)
        said = self.store.add_message(
            handoff.id, "worker", kind, text, self.clock(), media=media, author=worker.key
        )
        self._event(handoff.id, "worker", worker.key)
        t = Lang(handoff.language)
        if media is not None:
            caption = parent_texts.from_worker(t, worker.first_name, text)
            self.outbox.put(
                PARENT,
                handoff.chat_key,
                "media",
                media_payload(handoff.chat_key, media, caption, said),
                handoff.id,
            )
        else:
            reply = Reply(parent_texts.from_worker(t, worker.first_name, text))
            self.outbox.put(
                PARENT,
                handoff.chat_key,
                "reply",
                reply_payload(handoff.chat_key, reply, said),
                handoff.id,
            )
        return StaffAnswer(True)

    def reply(
        self,
        handoff_id: int,
        worker: BridgeWorker | None,
        text: str,
        media: MediaRef | None = None,
    ) -> StaffAnswer:
        """An answer written in the desk: to the parent, and shown in the Telegram topic."""
        handoff = self.store.get(handoff_id)
        refused = self._may_act(handoff, worker)
        if refused is not None:
            return refused
        assert handoff is not None and worker is not None
        kind = "text" if media is None else ("photo" if media.kind == "photo" else "document")
        answer = self._relay(handoff, worker, kind, text, media)
        if not answer.ok:
            return answer
        shown = staff_texts.from_desk(worker, text)
        if media is not None:
            self._staff("media", {"media": asdict(media), "caption": shown}, handoff_id)
        else:
            self._staff("post", {"text": shown}, handoff_id)
        return answer

    def note(self, handoff_id: int, worker: BridgeWorker | None, text: str) -> StaffAnswer:
        """An internal note: for colleagues (the desk and the topic), never for the parent."""
        handoff = self.store.get(handoff_id)
        if worker is None or not worker.active or handoff is None:
            return StaffAnswer(False, staff_texts.NOT_A_WORKER)
        if not text.strip():
            return StaffAnswer(False, "Een lege notitie wordt niet bewaard.")
        self.store.add_message(handoff_id, "note", "text", text, self.clock(), author=worker.key)
        self._event(handoff_id, "note", worker.key)
        self._staff("post", {"text": staff_texts.note(worker, text)}, handoff_id)
        return StaffAnswer(True, "Notitie bewaard. De ouder ziet ze niet.")

    def note_from_topic(self, topic_id: int, user_id: int | None, text: str) -> StaffAnswer | None:
        """``/note ...`` in a topic: the same internal note, written in Telegram."""
        handoff = self.store.by_topic(topic_id)
        if handoff is None:
            return None
        worker = self.team.by_user(user_id)
        if worker is None:
            return None
        if not text.strip():
            return StaffAnswer(
                False, "Schrijf je notitie achter /note, bv. /note belt morgen terug."
            )
        self.store.add_message(handoff.id, "note", "text", text, self.clock(), author=worker.key)
        self._event(handoff.id, "note", worker.key)
        return StaffAnswer(True)

    def transfer(
        self, handoff_id: int, actor: BridgeWorker | None, to: BridgeWorker | None, note: str
    ) -> StaffAnswer:
        """Give the handoff to a named colleague, with a note only colleagues read. The parent
        hears the new name, as at a pick-up."""
        handoff = self.store.get(handoff_id)
        if actor is None or not actor.active:
            return StaffAnswer(False, staff_texts.NOT_A_WORKER)
        if handoff is None or not handoff.is_open:
            return StaffAnswer(False, staff_texts.ALREADY_CLOSED)
        if handoff.worker_key not in (None, actor.key) and not actor.coordinator:
            return StaffAnswer(False, staff_texts.already_taken(self.team.find(handoff.worker_key)))
        if to is None or not to.active:
            return StaffAnswer(False, "Kies een collega uit de lijst (actieve brugfiguren).")
        if to.key == handoff.worker_key:
            return StaffAnswer(True, f"Vraag #{handoff_id} staat al op naam van {to.first_name}.")
        if not self.store.assign(handoff_id, to.key, self.clock()):
            return StaffAnswer(False, staff_texts.ALREADY_CLOSED)
        if note.strip():
            self.store.add_message(handoff_id, "note", "text", note, self.clock(), author=actor.key)
        self._event(handoff_id, "transferred", to.key)
        log.info("handoff %d transferred", handoff_id)
        self._staff("picked_up", {"text": staff_texts.transferred(actor, to, note)}, handoff_id)
        t = Lang(handoff.language)
        reply = Reply(parent_texts.picked_up(t, to.first_name, to.languages))
        self.send_to_parent(handoff.chat_key, reply, handoff_id)
        return StaffAnswer(True, f"Vraag #{handoff_id} staat nu op naam van {to.first_name}.")

    def close(
        self, handoff_id: int, worker: BridgeWorker | None, via: str = "telegram"
    ) -> StaffAnswer:
        if worker is None or not worker.active:
            return StaffAnswer(False, staff_texts.NOT_A_WORKER)
        handoff = self.store.get(handoff_id)
        if handoff is None or not self.store.close(handoff_id, self.clock()):
            return StaffAnswer(False, staff_texts.ALREADY_CLOSED)
        self._record_times(handoff)
        log.info("handoff %d closed", handoff_id)
        self._event(handoff_id, "closed", worker.key)
        self._staff("closed", {"text": staff_texts.closed(worker, via)}, handoff_id)
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
        return self.close(handoff.id, self.team.by_user(user_id))

    def reopen(self, handoff_id: int, worker: BridgeWorker | None) -> StaffAnswer:
        """A closed handoff back on a worker's name (a follow-up): they can write to the parent
        again. The parent is not messaged until the worker writes."""
        if worker is None or not worker.active:
            return StaffAnswer(False, staff_texts.NOT_A_WORKER)
        handoff = self.store.get(handoff_id)
        if handoff is None or handoff.is_open:
            return StaffAnswer(False, "Deze vraag is niet afgesloten.")
        if not self.store.reopen(handoff_id, worker.key):
            return StaffAnswer(
                False,
                "Deze ouder heeft intussen een nieuwe vraag open. Schrijf daar verder.",
            )
        self._event(handoff_id, "reopened", worker.key)
        self._staff("reopened", {"text": staff_texts.reopened(worker)}, handoff_id)
        return StaffAnswer(True, f"Vraag #{handoff_id} is weer open, op jouw naam.")

    def _may_act(self, handoff: Handoff | None, worker: BridgeWorker | None) -> StaffAnswer | None:
        """Only the worker who has an open handoff writes to its parent."""
        if worker is None or not worker.active:
            return StaffAnswer(False, staff_texts.NOT_A_WORKER)
        if handoff is None or not handoff.is_open:
            return StaffAnswer(False, staff_texts.ALREADY_CLOSED + " De ouder krijgt dit niet.")
        if handoff.worker_key != worker.key:
            if handoff.status == "waiting":
                return StaffAnswer(False, "Pak de vraag eerst op.")
            return StaffAnswer(False, staff_texts.already_taken(self.team.find(handoff.worker_key)))
        return None

    # -- nothing is forgotten ------------------------------------------------------------------

    def tick(self) -> None:
        """Re-announce waiting handoffs every 30 minutes of working time; escalate after 2 h.
        In the staff group when there is one, and always in the desk."""
        now = self.clock()
        on_duty = self.team.anyone_on_duty(now)
        for handoff in self.store.waiting():
            if now < handoff.due_at:
                continue  # nobody works yet: the parent was told when someone will answer
            waited = now - handoff.due_at
            routed = self.team.find(handoff.routed_key)
            if (
                handoff.escalated_at is None
                and waited >= ESCALATE_AFTER
                and (on_duty or handoff.urgent)  # nobody is woken at night for a normal question
            ):
                minutes = int(waited.total_seconds() // 60)
                text = staff_texts.escalate(handoff, self.team.coordinators, minutes)
                self._notice(handoff, text, "escalate")
                self.store.update(handoff.id, escalated_at=now, announced_at=now)
                log.info("handoff %d escalated", handoff.id)
            elif on_duty and now - (handoff.announced_at or handoff.created_at) >= REANNOUNCE_AFTER:
                minutes = int(waited.total_seconds() // 60)
                self._notice(
                    handoff, staff_texts.reannounce(handoff, routed, minutes), "reannounce"
                )
                self.store.update(handoff.id, announced_at=now)
                log.info("handoff %d announced again", handoff.id)
        self._quiet(now)
        self._promises(now)

    def _record_times(self, handoff: Handoff) -> None:
        """How long it waited, anonymously, for the report (see ``handoff_times``). Waiting
        "longer than a working day" is counted in the hours of whoever had (or was meant to
        have) the question: 8 of their working hours from when someone was on duty."""
        now = self.clock()
        worker = self.team.find(handoff.worker_key or handoff.routed_key)
        until = handoff.picked_up_at or now
        waited = working_time(worker.hours if worker else DEFAULT_HOURS, handoff.due_at, until)
        self.store.record_times(handoff, now, waited > WORKING_DAY)

    def _quiet(self, now: datetime) -> None:
        """Picked up, then quiet: a parent's message without an answer for the policy's
        working hours (the worker's own) is announced to the team and the coordinator."""
        for handoff, since, alarmed in self.store.unanswered():
            if alarmed is not None and alarmed >= since:
                continue  # told once for this message; a new one from the parent starts again
            worker = self.team.find(handoff.worker_key)
            waited = working_time(worker.hours if worker else DEFAULT_HOURS, since, now)
            if waited < self.quiet.after:
                continue
            text = staff_texts.quiet(handoff, worker, self.team.coordinators, self.quiet.hours)
            self._event(handoff.id, "quiet", handoff.worker_key)
            self._staff("notice", {"text": text}, handoff.id)
            self.store.update(handoff.id, quiet_alarm_at=now)
            log.info("handoff %d: a parent's message waits for an answer", handoff.id)

    def _promises(self, now: datetime) -> None:
        """ "I will come back to you on that": on the follow-up date the handoff is back in the
        worker's list (the desk reads the registrations), and the staff group reminds them."""
        today = local_day(now)
        for reg in self.registrations.reminders_due(today):
            worker = self.team.find(reg.worker)
            since = reg.contact_on.strftime("%d/%m")
            handoff = self.store.get(reg.handoff_id) if reg.handoff_id is not None else None
            self._event(handoff.id if handoff else None, "follow_up", reg.worker)
            self._staff(
                "notice",
                {"text": staff_texts.follow_up_due(worker, reg.handoff_id or 0, since)},
                handoff.id if handoff else None,
            )
            self.registrations.reminded(reg.id, today)

    def _notice(self, handoff: Handoff, text: str, kind: str) -> None:
        self._event(handoff.id, kind)
        self._staff(
            "notice",
            {"text": text, "buttons": [[("✋ Oppakken", f"staff:pickup:{handoff.id}")]]},
            handoff.id,
        )
