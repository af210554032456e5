"""The bot's keyboards, shared by the engine and the handoff desk."""

from __future__ import annotations

from bot.conversation.i18n import Lang
from bot.conversation.messages import Button
from bot.conversation.vocabulary import AREA_LABELS, LANGUAGE_BUTTONS, NEED_LABELS

Keyboard = tuple[tuple[Button, ...], ...]


def language_buttons() -> Keyboard:
    return (tuple(Button(label, f"lang:{code}") for code, label in LANGUAGE_BUTTONS),)


def menu_buttons(t: Lang) -> Keyboard:
    buttons = [Button(t._(label), f"need:{need}") for need, label in NEED_LABELS.items()]
    buttons.append(Button(t._("How things work"), "explain:"))
    buttons.append(Button(t._("Talk to a bridge worker"), "handoff:offer"))
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))


def area_buttons(t: Lang) -> Keyboard:
    buttons = [Button(t._(label), f"area:{area}") for area, label in AREA_LABELS.items()]
    buttons.append(Button(t._("I don't know / elsewhere"), "area:none"))
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))


def next_buttons(t: Lang) -> Keyboard:
    return (
        (
            Button(t._("Another question"), "menu:"),
            Button(t._("Talk to a bridge worker"), "handoff:offer"),
        ),
    )


def consent_buttons(t: Lang) -> Keyboard:
    return (
        (
            Button(t._("Yes, pass it on"), "handoff:yes"),
            Button(t._("No, thank you"), "handoff:no"),
        ),
    )


def helped_buttons(t: Lang, handoff_id: int) -> Keyboard:
    """One tap after a handoff closed: did it help? (counted anonymously, once)."""
    return (
        (
            Button(t._("👍 It helped"), f"helped:yes:{handoff_id}"),
            Button(t._("👎 It did not help"), f"helped:no:{handoff_id}"),
        ),
    )


def explainer_buttons(t: Lang, explainers: list[tuple[str, str]]) -> Keyboard:
    """One button per explainer (its title in the parent's language), then a person."""
    buttons = [Button(title, f"explain:{explainer_id}") for explainer_id, title in explainers]
    buttons.append(Button(t._("Talk to a bridge worker"), "handoff:offer"))
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
