"""Rasa down, slow or answering garbage: the parent still gets the menu, quickly.

Each fake Rasa is a real HTTP server on loopback at the network boundary; the bot's own code
runs unmodified.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.conversation.engine import Engine
from bot.conversation.map_provider import MapProvider
from bot.conversation.messages import Incoming
from bot.conversation.state import StateStore
from bot.nlu.client import NLUClient
from bot.nlu.server import free_port
from bot.nlu.understand import Understander


def fake_rasa(behaviour: str) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if behaviour == "dribble":  # every read is quick, the whole answer is not
                body = json.dumps({"intent": {"name": "food", "confidence": 0.99}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.3)
                return
            if behaviour == "slow":
                time.sleep(3)
                body = json.dumps({"intent": {"name": "food", "confidence": 0.99}}).encode()
            elif behaviour == "garbage":
                body = b'{"intent": "food", "confidence": "very"}'
            elif behaviour == "html":
                body = b"<html>502 Bad Gateway</html>"
            elif behaviour == "nan":
                body = b'{"intent": {"name": "food", "confidence": NaN}}'
            else:
                self.send_response(500)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def menu_engine_factory(map_db: Path) -> Iterator:  # type: ignore[type-arg]
    made: list[tuple[Engine, NLUClient]] = []

    def make(url: str) -> Engine:
        client = NLUClient(url)  # the production default timeout
        engine = Engine(MapProvider(map_db), Understander(client), StateStore(":memory:"))
        made.append((engine, client))
        return engine

    yield make
    for engine, _client in made:
        engine.state.close()


@pytest.mark.parametrize(
    "behaviour", ["down", "slow", "dribble", "garbage", "html", "nan", "error"]
)
async def test_the_menu_comes_when_rasa_fails(menu_engine_factory, behaviour: str) -> None:  # type: ignore[no-untyped-def]
    if behaviour == "down":
        server, url = None, f"http://127.0.0.1:{free_port()}"
    else:
        server, url = fake_rasa(behaviour)
    engine = menu_engine_factory(url)
    started = time.perf_counter()
    outcome = await engine.handle(Incoming("p1", "ik zoek eten voor mijn kinderen"))
    elapsed = time.perf_counter() - started
    buttons = [b.payload for r in outcome.replies for row in r.buttons for b in row]
    assert sum(p.startswith("need:") for p in buttons) == 17
    assert elapsed < 2.0, "the degraded answer must not wait for a slow model"
    await engine.understander.nlu.aclose()  # type: ignore[union-attr]
    if server:
        server.shutdown()


async def test_the_crisis_net_holds_when_rasa_is_down(menu_engine_factory) -> None:  # type: ignore[no-untyped-def]
    engine = menu_engine_factory(f"http://127.0.0.1:{free_port()}")
    outcome = await engine.handle(Incoming("p2", "hij slaat mij elke dag"))
    assert outcome.intent == "safety_crisis"
    assert "112" in outcome.replies[1].text or "112" in outcome.replies[0].text
