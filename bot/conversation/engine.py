"""The conversation engine: one parent message in, the bot's replies out.

It follows the bridge workers' practice (see ``../shared/domain.md``): answer the question
asked, ask at most one clarifying question (the area), never a dead end (every answer offers
a person), consent before anything is passed on, crisis numbers first. It knows nothing of
Telegram or WhatsApp: channel adapters translate to and from :mod:`bot.conversation.messages`.
"""

from __future__ import annotations

import logging
import traceback
from datetime import datetime
from pathlib import Path

from bot.clock import Clock
from bot.conversation.buttons import (
    area_buttons,
    consent_buttons,
    explainer_buttons,
    language_buttons,
    menu_buttons,
    next_buttons,
)
from bot.conversation.i18n import N_, Lang
from bot.conversation.map_provider import MapProvider
from bot.conversation.messages import Button, HandoffRequest, Incoming, Outcome, Reply
from bot.conversation.render import service_block
from bot.conversation.schools import SchoolFinder
from bot.conversation.state import ChatState, StateStore
from bot.conversation.text import clean, has_words
from bot.conversation.vocabulary import AREA_LABELS, LANGUAGE_BUTTONS, NEED_LABELS
from bot.followup import checkback
from bot.followup.checkback import CheckBacks
from bot.nlu.areas import AREA_IDS
from bot.nlu.crisis import CrisisMatch
from bot.nlu.understand import (
    CONFIDENCE_THRESHOLD,
    HOW_IT_WORKS,
    NEEDS,
    Understander,
    Understanding,
)
from social_map.hours import is_open
from social_map.ranking import OFFICE_HOURS, TIME_CRITICAL_NEEDS, Query
from social_map.store import Explainer, SocialMap

log = logging.getLogger(__name__)
MAX_SERVICES = 3
MEDIA_KINDS = ("photo", "document", "voice")

# Crisis numbers, most relevant first per kind of crisis (numbers from the sourced facts).
_CRISIS_ORDER = {
    "suicide": ("1813", "106", "112"),
    "violence": ("112", "101", "1712"),
    "abuse": ("1712", "112", "116 000"),
    "homeless_tonight": ("112", "106", "1712"),
    "danger": ("112", "101", "1712"),
}
_CRISIS_LINES = {
    "112": N_("112: ambulance and fire brigade, day and night, free."),
    "101": N_("101: police, day and night, free."),
    "1712": N_("1712: violence, abuse or child abuse. Free and anonymous."),
    "106": N_("106: Tele-Onthaal, someone who listens, day and night."),
    "1813": N_("1813: suicide prevention, day and night, free."),
    "116 000": N_("116 000: Child Focus, missing or abused children, day and night."),
}


def _where(exc: BaseException) -> str:
    """'KeyError at render.py:42': enough to find a bug, nothing a parent wrote."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    return f"{type(exc).__name__}{place}"


class Engine:
    def __init__(
        self,
        maps: MapProvider,
        understander: Understander,
        state: StateStore,
        retention_days: int = 30,
        checkbacks: CheckBacks | None = None,
    ) -> None:
        self.maps = maps
        self.understander = understander
        self.state = state
        self.checkbacks = checkbacks or CheckBacks(state)
        self.clock: Clock = state.clock  # the one clock (bot.clock) lives in the state store
        self.retention_days = retention_days  # for /privacy: see bot.retention
        self._schools: tuple[SocialMap, SchoolFinder] | None = None

    async def handle(self, msg: Incoming) -> Outcome:
        """Answer one message. Never raises: a failure becomes an apology and the menu."""
        state = self.state.load(msg.chat_key) or ChatState(msg.chat_key)
        try:
            outcome = await self._handle(msg, state)
        except Exception as exc:  # a bug must never leave a parent without an answer
            # Type and place only: an exception's message could echo what the parent wrote.
            log.error("engine error %s (kind=%s)", _where(exc), msg.kind)
            t = Lang(state.language or "nl")
            outcome = Outcome(
                [
                    Reply(
                        t._("Sorry, something went wrong on my side. Please choose a topic:"),
                        menu_buttons(t),
                    )
                ],
                t.code,
            )
        if not outcome.forgotten:
            self.state.save(state)
        return outcome

    # -- dispatch ----------------------------------------------------------------------------

    async def _handle(self, msg: Incoming, state: ChatState) -> Outcome:
        if msg.kind == "button" and msg.payload:
            return self._button(msg.payload, state, msg)
        if msg.kind in MEDIA_KINDS:
            return self._media(state, msg)
        text = clean(msg.text)
        if text.startswith("/"):
            return self._command(text, state, msg)
        if not has_words(text):
            t = self._lang(state, msg)
            replies = self._welcome(t, state)
            replies.append(Reply(t._("What can I help you with? Choose a topic:"), menu_buttons(t)))
            return Outcome(replies, t.code)
        understood = await self.understander.understand(text, state.language, msg.language_hint)
        school = self._school_finder().find(text)
        if school is not None:
            state.school = school
        return self._text(understood, state)

    def _school_finder(self) -> SchoolFinder:
        social_map = self.maps.current()
        if self._schools is None or self._schools[0] is not social_map:
            self._schools = (social_map, SchoolFinder(social_map.schools()))
        return self._schools[1]

    def _text(self, u: Understanding, state: ChatState) -> Outcome:
        # The parent's words rank the services (issue 15); used here, never stored.
        message = u.text
        query = Query.from_message(message, u.age)
        state.language = u.language
        t = Lang(u.language)
        if u.area:
            state.area = u.area
        replies = self._welcome(t, state)
        outcome = Outcome(
            replies,
            t.code,
            u.intent,
            u.confidence,
            [{"entity": k, "value": v} for k, v in u.entities],
        )
        choice = u.choice
        if choice.kind == "crisis":
            return self._crisis(t, state, outcome, u.crisis)
        if choice.kind == "degraded":
            replies.append(
                Reply(
                    t._(
                        "I cannot read messages well right now. Please choose a topic, or talk to a "
                        "bridge worker:"
                    ),
                    menu_buttons(t),
                )
            )
            return outcome
        if (
            state.awaiting == "area"
            and state.pending_need
            and u.area
            and not (u.is_need and u.confidence >= CONFIDENCE_THRESHOLD)
        ):
            pending = Query.load(state.pending_detail)
            return self._answer_need(state.pending_need, t, state, outcome, pending)
        if choice.kind == "menu":
            return self._not_understood(t, state, outcome)
        state.failures = 0
        if choice.kind == "ask":  # two needs about as likely, or the model alone says crisis
            return self._ask_which(choice.intents, t, state, outcome)
        if u.is_need:
            return self._answer_need(u.intent or "", t, state, outcome, query)
        if u.intent == HOW_IT_WORKS:
            return self._explain(message, t, state, outcome)
        if u.intent == "human_request":
            return self._offer_handoff(t, state, outcome)
        if u.intent == "greet":
            if len(replies) == 0:
                replies.append(Reply(t._("Hello! What can I help you with?"), menu_buttons(t)))
            else:
                replies.append(
                    Reply(t._("What can I help you with? Choose a topic:"), menu_buttons(t))
                )
        elif u.intent == "thanks":
            replies.append(Reply(t._("You're welcome. Is there anything else?"), next_buttons(t)))
        elif u.intent == "goodbye":
            replies.append(Reply(t._("Goodbye! You can write to me here at any time.")))
        else:
            return self._not_understood(t, state, outcome)
        return outcome

    # -- answers -----------------------------------------------------------------------------

    def _answer_need(
        self,
        need: str,
        t: Lang,
        state: ChatState,
        outcome: Outcome,
        query: Query | None = None,
    ) -> Outcome:
        if need == "safety_crisis":
            return self._crisis(t, state, outcome, None)
        outcome.intent = need  # also when it was pending while the area was asked
        social_map = self.maps.current()
        now = self.clock()
        if state.area is None and not state.area_asked and self._depends_on_area(need, query, now):
            state.area_asked = True
            state.pending_need = need
            state.pending_detail = social_map.topic(query).dump() if query else None
            state.awaiting = "area"
            outcome.replies.append(
                Reply(t._("In which part of Leuven do you live?"), area_buttons(t))
            )
            return outcome
        state.awaiting = None
        state.pending_need = None
        state.pending_detail = None
        state.last_need = need
        ranking = social_map.rank(
            need, area=state.area, lang=t.code, at=now, limit=MAX_SERVICES, query=query
        )
        matches = ranking.matches
        if not matches:
            self.state.record_unmet_need(need, state.area, t.code)
            return self._ask_consent(
                t,
                state,
                outcome,
                "unmet_need",
                t._(
                    "I do not know a service for this yet. A bridge worker can look for one "
                    "with you. May I pass your question on to a bridge worker?"
                ),
            )
        outcome.services = [m.id for m in matches]
        label = t._(NEED_LABELS.get(need, need))
        parts = [
            t.ngettext(
                "I found {n} place for you ({topic}):",
                "I found {n} places for you ({topic}):",
                len(matches),
            ).format(n=len(matches), topic=label)
        ]
        if ranking.after_hours and any(m.open_now for m in matches):
            parts.append(
                t._(
                    "It is outside office hours: many services are closed now. The ones that "
                    "are open now come first."
                )
            )
        parts += [service_block(t, i, m, now) for i, m in enumerate(matches, start=1)]
        parts.append(
            t._("Do you have another question, or do you want to talk to a bridge worker?")
        )
        buttons = next_buttons(t)
        explainer = social_map.explain(" ".join(query.words), t.code) if query else None
        if explainer is not None:
            buttons = ((Button(explainer.title, f"explain:{explainer.id}"),), *buttons)
        outcome.replies.append(Reply("\n\n".join(parts), buttons))
        state.last_services = ",".join(outcome.services)
        if self.checkbacks.enabled and not state.checkback_offered:
            state.checkback_offered = True  # asked once per chat: no means no
            outcome.replies.append(checkback.offer(t, self.checkbacks.policy.days))
        return outcome

    def _depends_on_area(self, need: str, query: Query | None, now: datetime) -> bool:
        """Ask for the area only when it changes the answer, and never when time presses."""
        if query is not None and query.urgent:
            return False
        if need in TIME_CRITICAL_NEEDS and is_open(OFFICE_HOURS, now) is False:
            return False
        social_map = self.maps.current()

        def top(area: str | None) -> list[str]:
            found = social_map.find(need, area, "nl", now, MAX_SERVICES, query=query)
            return [m.id for m in found]

        city = top(None)
        return any(top(area) != city for area in AREA_IDS)

    # -- how things work ---------------------------------------------------------------------

    def _explain(self, text: str, t: Lang, state: ChatState, outcome: Outcome) -> Outcome:
        """A "how does ... work?" question: the best explainer, or the list of them."""
        outcome.intent = HOW_IT_WORKS
        explainer = self.maps.current().explain(text, t.code)
        if explainer is None:
            return self._explainer_menu(t, outcome)
        return self._show_explainer(explainer, t, outcome)

    def _explainer_menu(self, t: Lang, outcome: Outcome) -> Outcome:
        explainers = self.maps.current().explainers(t.code)
        if not explainers:
            return self._offer_handoff_menu(t, outcome)
        outcome.replies.append(
            Reply(
                t._("What would you like to know more about? Choose a topic:"),
                explainer_buttons(t, [(e.id, e.title) for e in explainers]),
            )
        )
        return outcome

    def _offer_handoff_menu(self, t: Lang, outcome: Outcome) -> Outcome:
        outcome.replies.append(
            Reply(t._("What can I help you with? Choose a topic:"), menu_buttons(t))
        )
        return outcome

    def _show_explainer(self, explainer: Explainer, t: Lang, outcome: Outcome) -> Outcome:
        social_map = self.maps.current()
        text = explainer.text
        if explainer.text_lang != t.code:
            text = f"{t.ltr(text)} {t._('(only in Dutch)')}"
        parts = [f"ℹ️ {explainer.title}", text]
        helpers = [social_map.get(service_id, t.code) for service_id in explainer.services]
        names = [f"• {t.ltr(h.name)}" for h in helpers if h is not None and h.end_date is None]
        if names:
            parts.append("\n".join([t._("Who can help with this:"), *names]))
        parts.append(t._("A bridge worker can go through it with you."))
        buttons = (
            (Button(t._("More explanations"), "explain:"),),
            *next_buttons(t),
        )
        outcome.replies.append(Reply("\n\n".join(parts), buttons))
        return outcome

    def _ask_which(
        self, needs: tuple[str, ...], t: Lang, state: ChatState, outcome: Outcome
    ) -> Outcome:
        """Two needs are about as likely: one question, both as buttons, instead of a guess."""
        choices = [n for n in needs if n in NEED_LABELS]
        lines = []
        if "safety_crisis" in choices:
            lines.append(t._("If you are in danger now, call 112 or the police (101)."))
        lines.append(t._("Which of these is your question about?"))
        buttons = tuple(Button(t._(NEED_LABELS[n]), f"need:{n}") for n in choices)
        outcome.replies.append(Reply("\n".join(lines), (buttons, *next_buttons(t))))
        return outcome

    def _crisis(
        self, t: Lang, state: ChatState, outcome: Outcome, match: CrisisMatch | None
    ) -> Outcome:
        outcome.intent = "safety_crisis"
        outcome.handoff = True
        outcome.urgent = True
        order = _CRISIS_ORDER.get(match.category if match else "danger", _CRISIS_ORDER["danger"])
        numbers = list(order) + [n for n in _CRISIS_LINES if n not in order]
        lines = [t._("You are not alone. If you are in danger now, call 112 or the police (101).")]
        lines += ["📞 " + self._crisis_line(t, n) for n in numbers]
        outcome.replies.append(Reply("\n".join(lines)))
        state.awaiting = "consent"
        state.pending_need = "safety_crisis"
        state.handoff_reason = "crisis"
        outcome.replies.append(
            Reply(
                t._(
                    "A bridge worker can help you too, as soon as possible. May I pass your message "
                    "on to a bridge worker?"
                ),
                consent_buttons(t),
            )
        )
        return outcome

    @staticmethod
    def _crisis_line(t: Lang, number: str) -> str:
        text = t._(_CRISIS_LINES[number])
        return text.replace(number, t.number(number), 1) if t.rtl else text

    def _not_understood(self, t: Lang, state: ChatState, outcome: Outcome) -> Outcome:
        state.failures += 1
        if state.failures >= 2:
            return self._ask_consent(
                t,
                state,
                outcome,
                "not_understood",
                t._(
                    "Sorry, I still do not understand. A bridge worker can help you in person. "
                    "May I pass your question on to a bridge worker?"
                ),
                menu_buttons(t),
            )
        outcome.replies.append(
            Reply(
                t._("Sorry, I am not sure I understand. I can help with these topics:"),
                menu_buttons(t),
            )
        )
        return outcome

    def _offer_handoff(self, t: Lang, state: ChatState, outcome: Outcome) -> Outcome:
        return self._ask_consent(
            t,
            state,
            outcome,
            "human_request",
            t._(
                "A bridge worker is a person from the city who helps parents, in confidence. "
                "May I pass your question on to a bridge worker?"
            ),
        )

    @staticmethod
    def _ask_consent(
        t: Lang,
        state: ChatState,
        outcome: Outcome,
        reason: str,
        question: str,
        extra: tuple[tuple[Button, ...], ...] = (),
    ) -> Outcome:
        """Consent first: nothing is passed on until the parent presses "yes"."""
        outcome.handoff = True
        state.awaiting = "consent"
        state.handoff_reason = reason
        outcome.replies.append(Reply(question, consent_buttons(t) + extra))
        return outcome

    def _media(self, state: ChatState, msg: Incoming) -> Outcome:
        t = self._lang(state, msg)
        replies = self._welcome(t, state)
        return self._ask_consent(
            t,
            state,
            Outcome(replies, t.code),
            "media",
            t._(
                "Thank you. I cannot read photos or listen to voice messages, but a bridge worker "
                "can. May I pass this on to a bridge worker?"
            ),
        )

    # -- buttons and commands ----------------------------------------------------------------

    def _button(self, payload: str, state: ChatState, msg: Incoming) -> Outcome:
        t = self._lang(state, msg)
        state.greeted = True  # buttons only exist in replies, so the parent has been greeted
        kind, _, value = payload.partition(":")
        outcome = Outcome([], t.code)
        if kind == "lang" and value in ("nl", "ar", "fr", "en"):
            state.language = value
            t = Lang(value)
            outcome.language = value
            outcome.replies.append(
                Reply(
                    t._("I will write in English from now on. What can I help you with?"),
                    menu_buttons(t),
                )
            )
        elif kind == "need" and value in NEEDS:
            outcome.intent = value
            return self._answer_need(value, t, state, outcome)
        elif kind == "explain":
            outcome.intent = HOW_IT_WORKS
            found = self.maps.current().explainer(value, t.code) if value else None
            if found is None:
                return self._explainer_menu(t, outcome)
            return self._show_explainer(found, t, outcome)
        elif kind == "area":
            state.area = value if value in AREA_LABELS else None
            state.area_asked = True
            if state.pending_need:
                pending = Query.load(state.pending_detail)
                return self._answer_need(state.pending_need, t, state, outcome, pending)
            outcome.replies.append(
                Reply(t._("Thank you. What can I help you with?"), menu_buttons(t))
            )
        elif kind == "checkback":
            return self._checkback(value, t, state, outcome)
        elif kind == "helped":
            answer, _, handoff_id = value.partition(":")
            if answer in ("yes", "no") and handoff_id.isdigit() and len(handoff_id) < 19:
                self.state.count_helped(int(handoff_id), state.chat_key, answer)
            outcome.replies.append(Reply(t._("Thank you for telling us."), next_buttons(t)))
        elif kind == "handoff" and value == "offer":
            return self._offer_handoff(t, state, outcome)
        elif kind == "handoff" and value == "yes":
            return self._consented(t, state, outcome)
        elif kind == "handoff" and value == "no":
            state.consent = False
            state.awaiting = None
            outcome.replies.append(
                Reply(
                    t._(
                        "All right, I will not pass anything on. You can still use the services and "
                        "numbers above. In danger, always call 112."
                    ),
                    next_buttons(t),
                )
            )
        else:
            outcome.replies.append(
                Reply(t._("What can I help you with? Choose a topic:"), menu_buttons(t))
            )
        return outcome

    def _checkback(self, value: str, t: Lang, state: ChatState, outcome: Outcome) -> Outcome:
        """The parent's answer to "may I ask you later?" or to the question itself."""
        if value in ("plan", "skip"):
            services = [s for s in (state.last_services or "").split(",") if s]
            if value == "plan" and services and self.checkbacks.enabled:
                self.checkbacks.plan(state.chat_key, t.code, services)
                days = self.checkbacks.policy.days
                text = t.ngettext(
                    "Thank you. I will ask you in {n} day.",
                    "Thank you. I will ask you in {n} days.",
                    days,
                ).format(n=days)
            else:
                text = t._("All right, I will not ask.")
            outcome.replies.append(Reply(text, next_buttons(t)))
            return outcome
        answer, _, number = value.partition(":")
        counted = None
        if number.isdigit() and len(number) < 19:  # an id, not a 30-digit forgery
            counted = self.checkbacks.answer(int(number), state.chat_key, answer)
        if counted is None:
            outcome.replies.append(Reply(t._("Thank you, I have your answer."), next_buttons(t)))
            return outcome
        if answer == "person":
            return self._ask_consent(
                t,
                state,
                outcome,
                "checkback",
                t._(
                    "A bridge worker can look at it with you. May I pass your question on to a "
                    "bridge worker?"
                ),
            )
        outcome.replies.append(Reply(checkback.thanks(t, answer), next_buttons(t)))
        return outcome

    def _consented(self, t: Lang, state: ChatState, outcome: Outcome) -> Outcome:
        """The parent said yes. The caller (the router) opens the handoff and tells the parent
        who will answer and when; the engine only records the decision."""
        urgent = state.pending_need == "safety_crisis" or state.handoff_reason == "crisis"
        state.consent = True
        state.awaiting = None
        outcome.handoff = True
        outcome.urgent = urgent
        outcome.handoff_request = HandoffRequest(
            reason=state.handoff_reason or "human_request",
            urgent=urgent,
            language=t.code,
            need=state.last_need if not urgent else "safety_crisis",
            area=state.area,
            school=state.school,
        )
        state.handoff_reason = None
        if state.pending_need == "safety_crisis":
            state.pending_need = None
        return outcome

    def _command(self, text: str, state: ChatState, msg: Incoming) -> Outcome:
        t = self._lang(state, msg)
        command = text.split()[0].split("@")[0].lower()
        outcome = Outcome([], t.code)
        if command == "/start":
            state.greeted = False
            outcome.replies.extend(self._welcome(t, state))
            outcome.replies.append(
                Reply(t._("What can I help you with? Choose a topic:"), menu_buttons(t))
            )
        elif command == "/language":
            outcome.replies.append(Reply(t._("Choose your language:"), language_buttons()))
        elif command in ("/menu", "/help"):
            outcome.replies.append(Reply(t._("I can help with these topics:"), menu_buttons(t)))
        elif command == "/forget":
            self.state.forget(state.chat_key)
            outcome.forgotten = True
            outcome.replies.append(
                Reply(
                    t._(
                        "Done: I have erased everything I kept about you. You can start again at "
                        "any time."
                    )
                )
            )
        elif command == "/mydata":
            outcome.replies.append(Reply(self._my_data(t, state)))
        elif command == "/privacy":
            outcome.replies.append(Reply(self._privacy(t)))
        else:
            outcome.replies.append(
                Reply(
                    t._("I do not know that command. I can help with these topics:"),
                    menu_buttons(t),
                )
            )
        return outcome

    def _my_data(self, t: Lang, state: ChatState) -> str:
        unknown = t._("not known")
        handoffs = self.state.handoffs(state.chat_key)
        area = t._(AREA_LABELS[state.area]) if state.area in AREA_LABELS else unknown
        need = t._(NEED_LABELS[state.last_need]) if state.last_need in NEED_LABELS else unknown
        found = self.maps.current().get(state.school) if state.school else None
        school = found.name if found else unknown
        lines = [
            t._("This is what I keep about you:"),
            t._("Language: {value}").format(value=dict(LANGUAGE_BUTTONS).get(t.code, t.code)),
            t._("Part of Leuven: {value}").format(value=area),
            t._("School: {value}").format(value=school),
            t._("Last topic: {value}").format(value=need),
            t._("Questions passed on to a bridge worker: {value}").format(value=handoffs),
            t._("I do not keep your messages. Type /forget to erase everything.")
            if handoffs == 0
            else t._(
                "Your messages with the bridge worker are kept for your question. Type /forget to "
                "erase everything."
            ),
        ]
        return "\n".join(lines)

    def _privacy(self, t: Lang) -> str:
        """The short privacy notice (the full one: docs/privacy-notice.md)."""
        days = self.retention_days
        return "\n".join(
            [
                t._("Privacy, in short:"),
                t._(
                    "• I keep your language, your part of Leuven and your last topic, so that I "
                    "do not ask again. I do not keep your messages."
                ),
                t._(
                    "• Before a bridge worker reads your messages, I ask you. They are deleted "
                    "{days} days after that conversation ends."
                ).format(days=days),
                t._("• If you do not write for {days} days, I erase what I know about you.").format(
                    days=days
                ),
                t._("• Telegram or WhatsApp carry your messages too."),
                t._("• /mydata shows what I keep. /forget erases everything at once."),
            ]
        )

    # -- pieces ------------------------------------------------------------------------------

    def _lang(self, state: ChatState, msg: Incoming) -> Lang:
        if state.language is None:
            hint = (msg.language_hint or "").split("-")[0].lower()
            state.language = hint if hint in ("nl", "ar", "fr", "en") else "nl"
        return Lang(state.language)

    def _welcome(self, t: Lang, state: ChatState) -> list[Reply]:
        if state.greeted:
            return []
        state.greeted = True
        text = "\n".join(
            [
                t._(
                    "Hello, I am Wegwijs. I help parents in Leuven find the right help, and I can put "
                    "you in touch with a bridge worker."
                ),
                t._(
                    "Privacy: I keep only your language, part of Leuven and topic, not your messages. "
                    "Type /privacy to read more, /forget to erase everything."
                ),
            ]
        )
        return [Reply(text, language_buttons())]
