"""WhatsApp's message shapes and limits, without a network: webhook entries in, Graph API
messages out, the webhook signature, and the settings."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.channels.whatsapp.channel import valid_signature
from bot.channels.whatsapp.config import WhatsAppConfig, WhatsAppConfigError
from bot.channels.whatsapp.convert import inbound, media_message, reply_messages, text_parts
from bot.conversation.buttons import area_buttons, consent_buttons, language_buttons, menu_buttons
from bot.conversation.i18n import Lang


def choices(keyboard):
    return [(b.label, b.payload) for row in keyboard for b in row]


def check_limits(message: dict) -> None:
    """The limits WhatsApp enforces (the fake Graph API enforces them too, end to end)."""
    if message["type"] == "text":
        assert 1 <= len(message["text"]["body"]) <= 4096
        return
    interactive = message["interactive"]
    body = interactive["body"]["text"]
    if interactive["type"] == "button":
        buttons = interactive["action"]["buttons"]
        assert 1 <= len(buttons) <= 3 and 1 <= len(body) <= 1024
        assert all(1 <= len(b["reply"]["title"]) <= 20 for b in buttons)
    else:
        rows = [r for s in interactive["action"]["sections"] for r in s["rows"]]
        assert 1 <= len(rows) <= 10 and 1 <= len(body) <= 4096
        assert 1 <= len(interactive["action"]["button"]) <= 20
        assert all(1 <= len(r["title"]) <= 24 for r in rows)
        assert all(len(r.get("description", "")) <= 72 for r in rows)
        assert len({r["id"] for r in rows}) == len(rows)


@pytest.mark.parametrize("lang", ["nl", "fr", "ar", "en"])
def test_every_keyboard_fits_whatsapps_limits(lang):
    t = Lang(lang)
    for keyboard in (menu_buttons(t), area_buttons(t), consent_buttons(t), language_buttons()):
        messages = reply_messages("Waarmee kan ik helpen?", choices(keyboard), t)
        for message in messages:
            check_limits(message)
        offered = [
            row["id"]
            for m in messages
            if m["type"] == "interactive"
            for row in (
                [b["reply"] for b in m["interactive"]["action"]["buttons"]]
                if m["interactive"]["type"] == "button"
                else [r for s in m["interactive"]["action"]["sections"] for r in s["rows"]]
            )
        ]
        assert offered == [payload for _, payload in choices(keyboard)]  # nothing lost


def test_the_topic_menu_becomes_two_even_lists():
    t = Lang("nl")
    menu = choices(menu_buttons(t))
    assert len(menu) > 10
    messages = reply_messages("Kies een onderwerp.", menu, t)
    sizes = [len(m["interactive"]["action"]["sections"][0]["rows"]) for m in messages]
    assert len(messages) == 2 and abs(sizes[0] - sizes[1]) <= 1
    assert messages[0]["interactive"]["body"]["text"] == "Kies een onderwerp."
    assert messages[1]["interactive"]["body"]["text"] == "Meer keuzes:"
    assert messages[0]["interactive"]["action"]["button"] == "Kies"


def test_two_short_choices_are_reply_buttons_and_long_ones_a_list_with_the_full_label():
    t = Lang("en")
    [yes_no] = reply_messages("Pass it on?", choices(consent_buttons(t)), t)
    assert yes_no["interactive"]["type"] == "button"
    long = [("Talk to a bridge worker about school", "handoff:offer"), ("Menu", "menu:")]
    [as_list] = reply_messages("Next?", long, t)
    row = as_list["interactive"]["action"]["sections"][0]["rows"][0]
    assert as_list["interactive"]["type"] == "list"
    assert len(row["title"]) <= 24 and row["title"].endswith("…")
    assert row["description"] == "Talk to a bridge worker about school"


def test_long_text_is_split_and_the_buttons_come_with_the_last_part():
    text = "\n".join(f"Line {n}: " + "x" * 90 for n in range(100))  # ~10,000 characters
    messages = reply_messages(text, [("Yes", "handoff:yes"), ("No", "handoff:no")], Lang("en"))
    assert [m["type"] for m in messages[:-1]] == ["text"] * (len(messages) - 1)
    assert messages[-1]["type"] == "interactive"
    for message in messages:
        check_limits(message)
    parts = [m["text"]["body"] for m in messages[:-1]] + [
        messages[-1]["interactive"]["body"]["text"]
    ]
    assert "\n".join(parts) == text


def test_one_enormous_line_is_cut_and_nothing_is_lost():
    assert "".join(text_parts("<" * 10_000)) == "<" * 10_000
    assert text_parts("") == ["…"]


def wa(kind: str, **body) -> dict:
    raw = {"from": "32470111222", "id": "wamid.A", "timestamp": "1700000000", "type": kind}
    if body:
        raw[kind] = body
    return raw


def test_webhook_messages_become_incoming():
    text = inbound(wa("text", body="Hallo 👋"))
    assert text is not None and text.incoming is not None
    assert (text.incoming.kind, text.incoming.text, text.incoming.chat_key) == (
        "text",
        "Hallo 👋",
        "whatsapp:32470111222",
    )
    assert text.at == 1700000000.0
    button = inbound(
        wa("interactive", type="list_reply", list_reply={"id": "need:food", "title": "Eten"})
    )
    assert button.incoming.kind == "button" and button.incoming.payload == "need:food"
    voice = inbound(wa("audio", id="M1", mime_type="audio/ogg; codecs=opus", voice=True))
    assert voice.incoming.kind == "voice" and voice.incoming.media.kind == "voice"
    assert voice.incoming.media.channel == "whatsapp" and voice.incoming.media.file_id == "M1"
    letter = inbound(wa("document", id="M2", filename="brief.pdf", caption="wat is dit?"))
    assert letter.incoming.kind == "document" and letter.incoming.text == "wat is dit?"
    assert letter.incoming.media.file_name == "brief.pdf"
    assert inbound(wa("image", id="M3")).incoming.kind == "photo"
    assert inbound(wa("sticker", id="M4")).incoming.kind == "other"
    assert inbound(wa("location", latitude=50.8, longitude=4.7)).incoming.kind == "location"
    nudge = inbound(wa("button", text="Toon het antwoord", payload="x"))
    assert nudge.nudge and nudge.incoming is None
    assert inbound(wa("reaction", message_id="wamid.B", emoji="👍")).incoming is None
    assert inbound({"type": "text"}) is None  # no sender: nothing to answer


def test_media_messages_follow_whatsapps_rules():
    photo = media_message("photo", "ID", "image/jpeg", "p.jpg", "Samira: zie foto")
    assert photo == {"type": "image", "image": {"id": "ID", "caption": "Samira: zie foto"}}
    webp = media_message("photo", "ID", "image/webp", "p.webp", "")
    assert webp["type"] == "document" and webp["document"]["filename"] == "p.webp"
    voice = media_message("voice", "ID", "audio/ogg", "v.ogg", "Samira")
    assert voice == {"type": "audio", "audio": {"id": "ID"}}  # audio takes no caption


def test_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"object": "whatsapp_business_account"}'
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert valid_signature(body, good, "s3cret")
    assert not valid_signature(body + b" ", good, "s3cret")
    assert not valid_signature(body, good, "other")
    assert not valid_signature(body, "", "s3cret")
    assert not valid_signature(body, "sha256=ü", "s3cret")


def test_settings_name_every_missing_variable(monkeypatch):
    for name in ("WHATSAPP_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("WHATSAPP_VERIFY_TOKEN", raising=False)
    assert WhatsAppConfig.from_env() is None
    monkeypatch.setenv("WHATSAPP_TOKEN", "token")
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", "1000001")
    with pytest.raises(WhatsAppConfigError, match="WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN"):
        WhatsAppConfig.from_env()
    monkeypatch.setenv("WHATSAPP_APP_SECRET", "secret")
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", "verify")
    config = WhatsAppConfig.from_env()
    assert config is not None and config.api_base_url.startswith("https://graph.facebook.com/")
    assert "secret" not in repr(config) and "verify" not in repr(config)
