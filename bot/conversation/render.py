"""Turn social-map matches into short, plain answers in the parent's language."""

from __future__ import annotations

from datetime import datetime

from bot.conversation.i18n import N_, Lang
from social_map.store import ServiceMatch

COST = {
    "free": N_("Free."),
    "social_rate": N_("Lower price if you have a low income."),
    "paid": N_("You pay for this."),
}
HOW_TO_GO = {
    "walk_in": N_("You can walk in without an appointment."),
    "appointment": N_("Make an appointment first."),
    "referral": N_("Only via a referral: a bridge worker can arrange it with you."),
    "phone": N_("Call them first."),
    "online": N_("You can do this online."),
}


def hours_line(t: Lang, match: ServiceMatch, now: datetime) -> str:
    if match.open_now is None:
        if match.phones:
            return t._("Opening hours unknown: call before you go.")
        return t._("Opening hours unknown.")
    if match.open_now:
        if match.opening_hours == "24/7" or match.next_change is None:
            return t._("Open day and night.")
        if match.next_change.date() == now.date():
            return t._("Open now, until {time}.").format(time=t.time(match.next_change))
        return t._("Open now.")
    if match.next_change is None:
        return t._("Closed for now.")
    return t._("Closed now. Opens {when}.").format(when=t.when(match.next_change, now))


def service_block(t: Lang, index: int, match: ServiceMatch, now: datetime) -> str:
    lines = [f"{index}. {t.ltr(match.name)}"]
    why = match.description
    if match.description_lang != t.code:
        why = f"{t.ltr(why)} {t._('(only in Dutch)')}"
    lines.append(why)
    if match.matched:
        words = ", ".join(t.ltr(word) for word in match.matched[:3])
        lines.append("✔️ " + t._("You wrote about: {words}").format(words=words))
    if match.address:
        lines.append("📍 " + t.ltr(match.address))
    if match.phones:
        lines.append("📞 " + ", ".join(t.number(p) for p in match.phones[:2]))
    elif match.url:
        lines.append("🌐 " + t.ltr(match.url))
    lines.append("🕘 " + hours_line(t, match, now))
    if match.cost in COST:
        lines.append("💶 " + t._(COST[match.cost]))
    steps = [t._(HOW_TO_GO[p]) for p in match.application_process if p in HOW_TO_GO][:1]
    if steps:
        lines.append("➡️ " + steps[0])
    return "\n".join(lines)
