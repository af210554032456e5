"""``wegwijs ask``: one message through the real engine, as a JSON-ready dict."""

from __future__ import annotations

from typing import Any

from bot.conversation.engine import Engine
from bot.conversation.messages import Incoming
from bot.conversation.state import ChatState
from bot.nlu.areas import canonical_area


async def answer_one(engine: Engine, n: int, request: dict[str, Any]) -> dict[str, Any]:
    """Answer ``request`` as a parent's message in an already-greeted conversation."""
    chat_id = f"ask-{n}"
    state = ChatState(
        f"ask:{chat_id}",
        language=request.get("lang"),
        area=canonical_area(request.get("area")),
        greeted=True,
    )
    if state.area:
        state.area_asked = True
    engine.state.save(state)
    outcome = await engine.handle(
        Incoming(chat_id, str(request["text"]), channel="ask", language_hint=request.get("lang"))
    )
    return {
        "language": outcome.language,
        "intent": outcome.intent,
        "confidence": round(outcome.confidence, 4),
        "entities": outcome.entities,
        "services": outcome.services,
        "handoff": outcome.handoff,
        "urgent": outcome.urgent,
        "reply": outcome.reply,
        "buttons": [b.label for r in outcome.replies for row in r.buttons for b in row],
    }
