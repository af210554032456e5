"""What the bridge workers read in the staff group. The team works in Dutch, so these are
Dutch; everything a parent wrote is HTML-escaped (the staff room posts with parse_mode HTML)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from bot.conversation.i18n import Lang
from bot.conversation.vocabulary import AREA_LABELS, NEED_LABELS
from bot.handoff.store import Handoff
from bot.handoff.workers import BridgeWorker

NL = Lang("nl")
LANGUAGE_NAMES = {"nl": "Nederlands", "ar": "Arabisch", "fr": "Frans", "en": "Engels"}
REASONS = {
    "human_request": "vraagt naar een persoon",
    "crisis": "🚨 mogelijk crisis of gevaar",
    "media": "stuurde een foto, document of spraakbericht",
    "not_understood": "de bot begreep de vraag twee keer niet",
    "unmet_need": "de sociale kaart heeft hier geen dienst voor",
    "checkback": "de bot vroeg na enkele dagen of het lukte; de ouder wil graag een persoon",
}
CHANNELS = {"telegram": "Telegram", "whatsapp": "WhatsApp", "terminal": "terminal"}
SENDERS = {"parent": "👤", "bot": "🤖", "worker": "🧑‍💼"}


def mention(worker: BridgeWorker) -> str:
    """A text mention: notifies the worker in the group without needing a username (a worker
    who uses only the desk has no Telegram account: their name in bold)."""
    if worker.telegram_user_id is None:
        return f"<b>{escape(worker.first_name)}</b>"
    return f'<a href="tg://user?id={worker.telegram_user_id}">{escape(worker.first_name)}</a>'


def _via(via: str) -> str:
    return " (in de desk)" if via == "desk" else ""


def _label(labels: dict[str, str], key: str | None) -> str:
    return NL._(labels[key]) if key in labels else "onbekend"


def topic_name(h: Handoff) -> str:
    """No names or numbers of the parent: the topic list is visible to the whole group."""
    parts = [f"#{h.id}", LANGUAGE_NAMES.get(h.language, h.language)]
    if h.area in AREA_LABELS:
        parts.append(_label(AREA_LABELS, h.area))
    if h.need in NEED_LABELS:
        parts.append(_label(NEED_LABELS, h.need))
    name = " · ".join(parts)
    return ("🚨 " + name if h.urgent else name)[:128]


def summary(
    h: Handoff,
    routed: BridgeWorker | None,
    available_at: datetime | None,
    school_name: str | None,
    transcript: list[tuple[datetime, str, str, str]],
    coordinators: tuple[BridgeWorker, ...],
) -> str:
    lines = [f"<b>{'🚨 DRINGEND · ' if h.urgent else ''}Vraag #{h.id}</b>"]
    lines.append(f"Reden: {escape(REASONS.get(h.reason, h.reason))}")
    lines.append(
        f"Taal: {LANGUAGE_NAMES.get(h.language, h.language)} · Wijk: {escape(_label(AREA_LABELS, h.area))}"
        f" · Onderwerp: {escape(_label(NEED_LABELS, h.need))}"
    )
    if school_name:
        lines.append(f"School: {escape(school_name)}")
    lines.append(f"Kanaal: {CHANNELS.get(h.channel, h.channel)}")
    if routed is not None:
        why = {"school": "school", "area": "wijk", "language": "taal", "on duty": "van dienst"}
        when = (
            "nu aan het werk"
            if available_at is None or available_at <= h.created_at
            else (f"werkt weer vanaf {NL.when(available_at, h.created_at)}")
        )
        lines.append(
            f"Voorgesteld: {mention(routed)} ({why.get(h.routed_why or '', h.routed_why)}; {escape(when)})"
        )
    if h.urgent and coordinators:
        lines.append("Coördinatie: " + ", ".join(mention(c) for c in coordinators))
    footer = (
        "\nDruk op <b>Oppakken</b> om de vraag op je naam te zetten. Wat je daarna in dit topic "
        "schrijft of stuurt, gaat naar de ouder. Afsluiten: /close of de knop."
    )
    said = []
    for at, sender, kind, text in transcript[-12:]:
        shown = text if kind == "text" else f"[{kind}] {text}".strip()
        if len(shown) > 300:
            shown = shown[:300] + "…"  # cut before escaping: never inside an HTML entity
        said.append(f"{SENDERS.get(sender, sender)} {NL.time(at)} {escape(shown)}")
    # One Telegram message holds 4096 characters: drop the oldest lines rather than the button.
    while said and len("\n".join([*lines, "", *said, footer])) > 4000:
        said.pop(0)
    lines.append("")
    lines += ["<b>Gesprek tot nu:</b>", *said] if said else ["(geen eerdere berichten bewaard)"]
    lines.append(footer)
    return "\n".join(lines)


def parent_says(text: str) -> str:
    """Plain text: the staff room escapes it when it posts (and splits what is too long)."""
    return f"👤 {text}"


def picked_up(worker: BridgeWorker, via: str = "telegram") -> str:
    return (
        f"✋ Opgepakt door {mention(worker)}{_via(via)}. Wat je hier schrijft, gaat naar de ouder."
    )


def closed(worker: BridgeWorker, via: str = "telegram") -> str:
    return (
        f"✅ Afgesloten door {escape(worker.first_name)}{_via(via)}. "
        "De ouder praat weer met de bot."
    )


def from_desk(worker: BridgeWorker, text: str) -> str:
    """A worker's answer written in the desk, shown in the topic (plain text: escaped when
    posted)."""
    return (
        f"🧑‍💼 {worker.first_name} (desk): {text}" if text else f"🧑‍💼 {worker.first_name} (desk)"
    )


def note(worker: BridgeWorker, text: str) -> str:
    """Plain text, like a parent's message."""
    return f"📝 Interne notitie van {worker.first_name} (de ouder ziet dit niet): {text}"


def transferred(actor: BridgeWorker, to: BridgeWorker, note: str) -> str:
    line = f"🔁 {escape(actor.first_name)} gaf deze vraag door aan {mention(to)}."
    if note.strip():
        line += f"\n📝 Notitie (de ouder ziet dit niet): {escape(note.strip()[:1000])}"
    return line


def reopened(worker: BridgeWorker) -> str:
    return (
        f"🔄 Heropend door {mention(worker)} om op te volgen. Wat je hier schrijft, gaat weer "
        "naar de ouder."
    )


def reannounce(h: Handoff, routed: BridgeWorker | None, minutes: int) -> str:
    who = f" {mention(routed)}," if routed else ""
    return f"⏰{who} vraag #{h.id} wacht al {minutes} minuten op iemand. Wie pakt ze op?"


def escalate(h: Handoff, coordinators: tuple[BridgeWorker, ...], minutes: int) -> str:
    who = ", ".join(mention(c) for c in coordinators) or "coördinator"
    urgent = "🚨 DRINGENDE " if h.urgent else ""
    return f"⚠️ {who}: {urgent}vraag #{h.id} wacht al {minutes // 60} uur en {minutes % 60} minuten. Kan jij ze toewijzen?"


def quiet(
    h: Handoff, worker: BridgeWorker | None, coordinators: tuple[BridgeWorker, ...], hours: float
) -> str:
    """A picked-up question whose parent is waiting for an answer: for the team and the
    coordinator (the worker may be ill, on a course, or simply forgot)."""
    who = escape(worker.first_name) if worker else "de brugfiguur"
    boss = ", ".join(mention(c) for c in coordinators) or "coördinator"
    return (
        f"⏰ Vraag #{h.id}: de ouder wacht al {hours:.0f} werkuren van {who} op een antwoord. "
        f"{boss}, kan iemand het overnemen of {who} even aanspreken?"
    )


def follow_up_due(worker: BridgeWorker | None, handoff_id: int, since: str) -> str:
    who = mention(worker) if worker else "brugfiguur"
    return (
        f"📌 {who}: vandaag opvolgen bij vraag #{handoff_id} (beloofd op {since}). "
        "Hoe is het gegaan? De vraag staat weer in je lijst in de desk."
    )


def parent_forgot(h: Handoff) -> str:
    return f"🗑️ De ouder van vraag #{h.id} heeft met /forget alles laten wissen. Dit topic wordt verwijderd."


def closed_idle(h: Handoff, days: int) -> str:
    return (
        f"💤 Vraag #{h.id} is automatisch afgesloten: {days} dagen geen bericht. "
        "Schrijft de ouder opnieuw, dan begint een nieuwe vraag."
    )


def expired(h: Handoff, days: int) -> str:
    return (
        f"🗑️ Vraag #{h.id} is {days} dagen geleden afgesloten: de bewaartermijn is voorbij. "
        "Dit topic wordt verwijderd."
    )


NOT_A_WORKER = "Alleen brugfiguren uit de lijst kunnen vragen oppakken, beantwoorden of afsluiten."
ALREADY_CLOSED = "Deze vraag is al afgesloten."
ONLY_IN_STAFF_GROUP = "Deze knop werkt alleen in de groep van de brugfiguren."
BUTTON_FAILED = "Dat lukte niet. Probeer het zo meteen opnieuw."
CANNOT_RELAY = (
    "Dit soort bericht (sticker, locatie, peiling...) kan de bot niet doorsturen. Stuur tekst, "
    "een foto, een document of een spraakbericht."
)


def already_taken(worker: BridgeWorker | None) -> str:
    return f"Deze vraag is al opgepakt door {worker.first_name if worker else 'iemand anders'}."


def answer_waiting(template_sent: bool) -> str:
    """WhatsApp: the parent's last message is more than 24 hours old."""
    told = (
        "De ouder kreeg een WhatsApp-melding dat er een antwoord klaarstaat."
        if template_sent
        else "De melding aan de ouder werd geweigerd (is het sjabloon goedgekeurd?)."
    )
    return (
        "⏳ De ouder schreef meer dan 24 uur geleden, en dan laat WhatsApp de bot je bericht "
        f"niet meteen doorsturen. {told} Je bericht staat klaar en komt aan zodra de ouder "
        "terugschrijft; je hoeft niets opnieuw te sturen."
    )


PARENT_FILE_NOT_RELAYED = (
    "👤 (de ouder stuurde een bestand dat de bot niet kon doorsturen: te groot of onleesbaar. "
    "Vraag de ouder om een foto of een kleiner bestand.)"
)
WORKER_FILE_NOT_RELAYED = (
    "⚠️ Je bestand kon niet bij de ouder geraken: te groot, of een soort bestand dat het kanaal "
    "van de ouder niet aanneemt. Stuur het als foto of pdf, of vertel het in een bericht."
)
