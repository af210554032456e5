"""Checking back with a parent, a few days after the bot suggested services.

Bridge workers ask "how was it, was it what you expected?" after a referral; the bot does the
same for the services it suggested, but only when the parent said yes to it, and only once.
The answer counts anonymously per service (did parents reach it, was it what they needed)
and "no, I would like a person" offers the bridge worker. Nothing else is kept: the planned
check holds the chat and the suggested service ids until it is answered, and ``/forget`` or
the retention purge cancel it.

On WhatsApp a check due outside the 24-hour window goes out as an approved template with the
same three quick-reply buttons (``WHATSAPP_CHECKBACK_TEMPLATE``, see docs/operators.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.lists import format_list

from bot.clock import local_day, utc_iso
from bot.conversation.i18n import Lang
from bot.conversation.messages import Button, Reply
from bot.conversation.state import StateStore

DEFAULT_DAYS = 5
ANSWERS = ("reached", "not_yet", "person")
OFFER_YES, OFFER_NO = "checkback:plan", "checkback:skip"


class CheckBackError(ValueError):
    """WEGWIJS_CHECKBACK_DAYS is not a whole number of days >= 0."""


@dataclass(frozen=True)
class CheckBackPolicy:
    """After how many days the bot asks; 0 means it never offers to."""

    days: int = DEFAULT_DAYS

    @classmethod
    def from_env(cls) -> CheckBackPolicy:
        raw = os.environ.get("WEGWIJS_CHECKBACK_DAYS", "").strip()
        if not raw:
            return cls()
        if not raw.isdigit():
            raise CheckBackError(
                f"WEGWIJS_CHECKBACK_DAYS must be a whole number of days, 0 to switch the "
                f"check-back off (got {raw!r})"
            )
        return cls(int(raw))


@dataclass(frozen=True)
class PlannedCheck:
    id: int
    chat_key: str
    language: str
    services: tuple[str, ...]
    created_at: datetime


class CheckBacks:
    """The planned checks and the anonymous answers, in the state database."""

    def __init__(self, state: StateStore, policy: CheckBackPolicy | None = None) -> None:
        self._db, self._lock = state.connection
        self.clock = state.clock
        self.policy = policy or CheckBackPolicy()

    @property
    def enabled(self) -> bool:
        return self.policy.days > 0

    def plan(self, chat_key: str, language: str, services: list[str]) -> None:
        """The parent said yes: ask in ``days`` days (one planned check per chat)."""
        now = self.clock()
        due = now + timedelta(days=self.policy.days)
        with self._lock:
            self._db.execute(
                "INSERT INTO checkbacks (chat_key, language, services, created_at, due_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_key) DO UPDATE SET "
                "language = excluded.language, services = excluded.services, "
                "created_at = excluded.created_at, due_at = excluded.due_at, asked_at = NULL",
                (chat_key, language, json.dumps(services), utc_iso(now), utc_iso(due)),
            )

    def take_due(self) -> list[PlannedCheck]:
        """The checks whose day has come and that were not asked yet; marked as asked."""
        now = utc_iso(self.clock())
        with self._db.transaction():
            rows = self._db.execute(
                "SELECT id, chat_key, language, services, created_at FROM checkbacks "
                "WHERE asked_at IS NULL AND due_at <= ? ORDER BY due_at",
                (now,),
            ).fetchall()
            self._db.executemany(
                "UPDATE checkbacks SET asked_at = ? WHERE id = ?", [(now, r[0]) for r in rows]
            )
        return [
            PlannedCheck(
                int(r[0]),
                str(r[1]),
                str(r[2]),
                tuple(json.loads(r[3])),
                datetime.fromisoformat(r[4]),
            )
            for r in rows
        ]

    def drop(self, check_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM checkbacks WHERE id = ?", (check_id,))

    def answer(self, check_id: int, chat_key: str, answer: str) -> tuple[str, ...] | None:
        """Count the parent's answer for each suggested service and forget the check. None when
        there is nothing to answer (answered already, erased, or someone else's)."""
        day = local_day(self.clock()).isoformat()
        with self._db.transaction():
            row = self._db.execute(
                "SELECT services FROM checkbacks WHERE id = ? AND chat_key = ? "
                "AND asked_at IS NOT NULL",
                (check_id, chat_key),
            ).fetchone()
            if row is None or answer not in ANSWERS:
                return None  # nothing was written
            services = tuple(json.loads(row[0]))
            self._db.executemany(
                "INSERT INTO checkback_answers (day, service, answer, count) "
                "VALUES (?, ?, ?, 1) ON CONFLICT (day, service, answer) "
                "DO UPDATE SET count = checkback_answers.count + 1",
                [(day, service, answer) for service in services],
            )
            self._db.execute("DELETE FROM checkbacks WHERE id = ?", (check_id,))
        return services


# -- what the parent reads -------------------------------------------------------------------


def offer(t: Lang, days: int) -> Reply:
    return Reply(
        t.ngettext(
            "May I ask you in {n} day whether it worked out?",
            "May I ask you in {n} days whether it worked out?",
            days,
        ).format(n=days),
        ((Button(t._("Yes, ask me"), OFFER_YES), Button(t._("No, thank you"), OFFER_NO)),),
    )


def names(t: Lang, services: tuple[str, ...], name_of: dict[str, str]) -> str:
    """'A, B or C' in the parent's language, each name kept left-to-right in Arabic."""
    shown = [t.ltr(name_of.get(s, s)) for s in services]
    return format_list(shown, style="or", locale=t.locale) if shown else ""


def question_text(t: Lang, services: str) -> str:
    return "\n".join(
        [
            t._("Hello, this is Wegwijs again. A few days ago I suggested: {services}.").format(
                services=services
            ),
            t._("Did you reach them? Was it what you needed?"),
        ]
    )


def question_buttons(t: Lang, check_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(t._("Yes"), f"checkback:reached:{check_id}"),
            Button(t._("Not yet"), f"checkback:not_yet:{check_id}"),
        ),
        (Button(t._("No, I would like a person"), f"checkback:person:{check_id}"),),
    )


def thanks(t: Lang, answer: str) -> str:
    if answer == "reached":
        return t._("I am glad to hear that. You can write to me here at any time.")
    return t._(
        "All right. The places are still there for you. If it does not work out, a bridge "
        "worker can help you."
    )


def ask_due(
    checks: CheckBacks,
    send: Callable[[str, str, dict[str, object]], None],
    name_of: Callable[[str], str | None],
    in_handoff: Callable[[str], bool],
) -> int:
    """Queue the question for every check whose day has come. ``send(chat_key, action,
    payload)`` puts it in the parent's outbox lane. A parent who is talking with a bridge
    worker right now is not interrupted: their check is dropped. Returns how many went out."""
    sent = 0
    for check in checks.take_due():
        if in_handoff(check.chat_key):
            checks.drop(check.id)
            continue
        t = Lang(check.language)
        known = {s: n for s in check.services if (n := name_of(s))}
        services = names(t, check.services, known)
        channel, _, chat_id = check.chat_key.partition(":")
        payload: dict[str, object] = {
            "channel": channel,
            "chat_id": chat_id,
            "text": question_text(t, services),
            "buttons": [
                [(b.label, b.payload) for b in row] for row in question_buttons(t, check.id)
            ],
            "check_id": check.id,
            "services": services,  # the template's one parameter on WhatsApp
        }
        send(check.chat_key, "checkback", payload)
        sent += 1
    return sent
