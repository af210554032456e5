"""What the parent reads about their handoff, in their language (gettext, like the engine)."""

from __future__ import annotations

from datetime import datetime

from babel.lists import format_list

from bot.conversation.i18n import Lang


def language_names(t: Lang, codes: tuple[str, ...]) -> str:
    """'Arabic, Dutch and French' in the parent's language: Babel knows names and list style."""
    names = [t.locale.languages.get(code, code) for code in codes]
    if t.code == "en":
        names = [n[:1].upper() + n[1:] for n in names]
    return format_list(names, locale=t.locale)


def passed_on(
    t: Lang,
    name: str | None,
    languages: tuple[str, ...],
    available_now: bool,
    available_at: datetime | None,
    now: datetime,
    urgent: bool,
) -> str:
    if name is None:
        lines = [
            t._(
                "Thank you. I have passed your question on. A bridge worker will answer you here "
                "in this chat, usually within one working day."
            )
        ]
    else:
        who = t.ltr(name)
        lines = [
            t._("Thank you. I have passed your question on to {name}, a bridge worker.").format(
                name=who
            ),
            t._("{name} speaks {languages}.").format(
                name=who, languages=language_names(t, languages)
            ),
        ]
        if available_now:
            lines.append(
                t._("{name} is working now and will answer you here in this chat.").format(name=who)
            )
        elif available_at is not None:
            lines.append(
                t._("{name} will answer you here in this chat, from {when}.").format(
                    name=who, when=t.when(available_at, now)
                )
            )
        else:
            lines.append(t._("{name} will answer you here in this chat.").format(name=who))
    lines.append(t._("You can write or send a photo here: it goes to the bridge worker."))
    if urgent:
        lines.append(t._("In danger, always call 112."))
    return "\n".join(lines)


def already_passed_on(t: Lang) -> str:
    return t._(
        "Your question is already with a bridge worker. Write here: your messages go to them."
    )


def picked_up(t: Lang, name: str, languages: tuple[str, ...]) -> str:
    who = t.ltr(name)
    return "\n".join(
        [
            t._("{name}, a bridge worker, is now reading your question.").format(name=who),
            t._("{name} speaks {languages}. You can write to {name} here.").format(
                name=who, languages=language_names(t, languages)
            ),
        ]
    )


def from_worker(t: Lang, name: str, text: str) -> str:
    return t._("{name} (bridge worker):").format(name=t.ltr(name)) + "\n" + text


def closed(t: Lang, name: str) -> str:
    return t._(
        "{name} has closed this conversation. I am Wegwijs again: you can ask me a new question "
        "at any time, or ask for a bridge worker again."
    ).format(name=t.ltr(name))
