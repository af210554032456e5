"""The router: a handed-off chat goes to the bridge worker, the rest to the engine."""

from __future__ import annotations

from bot.conversation.engine import Engine
from bot.conversation.messages import Incoming
from bot.handoff.desk import HandoffDesk
from bot.handoff.workers import SAMPLE_FILE, load_team
from bot.router import Router


def router_for(engine: Engine) -> Router:
    return Router(engine, HandoffDesk(engine.state, load_team(SAMPLE_FILE)))


async def test_consent_opens_one_handoff_and_the_bot_then_stays_silent(engine: Engine) -> None:
    router = router_for(engine)
    chat = "router-1"
    await router.handle(Incoming(chat, kind="button", payload="lang:en", channel="telegram"))
    asked = await router.handle(Incoming(chat, "can i talk to a real person", channel="telegram"))
    assert any("handoff:yes" in [b.payload for row in r.buttons for b in row] for r in asked)
    ticket = await router.handle(
        Incoming(chat, kind="button", payload="handoff:yes", channel="telegram")
    )
    assert "bridge worker" in ticket[-1].text
    assert await router.handle(Incoming(chat, "hello? <b>", channel="telegram")) == []
    again = await router.handle(
        Incoming(chat, kind="button", payload="handoff:offer", channel="telegram")
    )
    assert len(again) == 1 and "already" in again[0].text
    handoff = router.desk.open_for("telegram:router-1")
    assert handoff is not None
    said = [
        text
        for _, sender, _, text in router.desk.store.transcript(handoff.id)
        if sender == "parent"
    ]
    assert said == ["can i talk to a real person", "hello? <b>"]
    mydata = await router.handle(Incoming(chat, "/mydata", channel="telegram"))
    assert "kept" in mydata[0].text  # /mydata still reaches the bot during a handoff


async def test_a_message_delivered_twice_is_answered_once(engine: Engine) -> None:
    router = router_for(engine)
    msg = Incoming("router-2", "hallo", channel="telegram", message_id="router-2:7")
    assert await router.handle(msg) != []
    assert await router.handle(msg) == []


async def test_forget_during_a_handoff_erases_it(engine: Engine) -> None:
    router = router_for(engine)
    chat = "router-3"
    await router.handle(Incoming(chat, kind="button", payload="handoff:offer", channel="telegram"))
    await router.handle(Incoming(chat, kind="button", payload="handoff:yes", channel="telegram"))
    assert router.desk.open_for("telegram:router-3") is not None
    await router.handle(Incoming(chat, "/forget", channel="telegram"))
    assert router.desk.store.for_chat("telegram:router-3") == []
    assert engine.state.load("telegram:router-3") is None
