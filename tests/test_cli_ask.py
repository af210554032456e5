"""``wegwijs ask``: the real command, the real Rasa server, the same reply as the chat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.asking import answer_one
from bot.conversation.engine import Engine
from bot.conversation.messages import Incoming

pytestmark = pytest.mark.rasa
WEGWIJS = [sys.executable, "-m", "bot.cli"]


def run(
    args: list[str], rasa_url: str, map_db: Path, stdin: str = "", tmp: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NLU_URL=rasa_url, WEGWIJS_MAP_DB=str(map_db))
    if tmp is not None:
        env["WEGWIJS_DATA_DIR"] = str(tmp)
    return subprocess.run(
        WEGWIJS + args,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_ask_json(rasa_url: str, map_db: Path, tmp_path: Path) -> None:
    result = run(
        ["ask", "--json", "--area", "kessel-lo", "waar kan ik goedkoop eten kopen"],
        rasa_url,
        map_db,
        tmp=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["language"] == "nl"
    assert answer["intent"] == "food"
    assert answer["services"] and answer["services"][0] == "het-perron"
    assert answer["handoff"] is False
    assert {"confidence", "entities", "reply"} <= set(answer)


def test_ask_jsonl_batch_in_one_process(rasa_url: str, map_db: Path, tmp_path: Path) -> None:
    lines = [
        {"text": "3andi mochkil m3a lmadrasa"},
        {"text": "je veux parler à quelqu'un", "lang": "fr"},
        "this is not json",
        {"text": "my husband hits me"},
        {"text": "x" * 5000},
    ]
    stdin = "\n".join(json.dumps(x) if isinstance(x, dict) else x for x in lines) + "\n"
    result = run(["ask", "--jsonl"], rasa_url, map_db, stdin=stdin, tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["language"] == "ar"
    assert out[1]["intent"] == "human_request" and out[1]["handoff"] is True
    assert "error" in out[2] and "line 3" in out[2]["error"]
    assert out[3]["intent"] == "safety_crisis" and out[3]["handoff"] is True
    assert out[4]["reply"]


async def test_ask_gives_the_same_reply_as_the_chat(engine: Engine) -> None:
    message = "ik zoek hulp bij het huiswerk voor mijn dochter"
    asked = await answer_one(engine, 7, {"text": message, "lang": "nl", "area": "heverlee"})
    await engine.handle(Incoming("chat-same", kind="button", payload="lang:nl"))
    await engine.handle(Incoming("chat-same", kind="button", payload="area:heverlee"))
    chatted = await engine.handle(Incoming("chat-same", message))
    assert asked["reply"] == chatted.reply
    assert asked["services"] == chatted.services


def test_ask_without_text_is_a_clear_usage_error(rasa_url: str, map_db: Path) -> None:
    result = run(["ask"], rasa_url, map_db)
    assert result.returncode == 2
    assert "TEXT" in result.stderr
    assert "Traceback" not in result.stderr
