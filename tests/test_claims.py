"""Claims on their own: two replicas' connections to one SQLite file (as two processes have),
each with its own name, and a clock the test moves (a claim's expiry is in the bot's clock)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.conversation.state import StateStore
from bot.handoff.outbox import Item, Outbox
from bot.replicas.claims import Claims, under_claim
from bot.replicas.jobs import Jobs


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def two(tmp_path: Path, clock: Clock) -> tuple[StateStore, StateStore]:
    path = tmp_path / "state.db"
    return StateStore(path, clock, replica="a"), StateStore(path, clock, replica="b")


def test_one_holder_a_knock_makes_it_look_again_and_an_expired_claim_moves(
    tmp_path: Path,
) -> None:
    clock = Clock()
    sa, sb = two(tmp_path, clock)
    a, b = Claims(sa, ttl=30), Claims(sb, ttl=30)
    knocks = a.take("inbox:x")
    assert knocks is not None
    assert b.take("inbox:x") is None  # a holds it; b knocked
    assert a.take("inbox:x") is None  # a coroutine of a's own process: also knocks
    again = a.let_go("inbox:x", knocks)
    assert again is not None and again > knocks  # somebody knocked: a looks again
    assert a.let_go("inbox:x", again) is None  # nobody since: given back
    assert b.take("inbox:x") is not None  # free for b at once

    clock.now += timedelta(seconds=31)  # b died: its claim was not renewed
    assert a.take("inbox:x") is not None
    assert not b.keep("inbox:x")  # b's fence: not its own any more
    assert a.keep("inbox:x")
    sa.close()
    sb.close()


def test_the_heartbeat_keeps_claims_alive_and_a_restart_under_the_same_name_frees_them(
    tmp_path: Path,
) -> None:
    clock = Clock()
    sa, sb = two(tmp_path, clock)
    a, b = Claims(sa, ttl=30), Claims(sb, ttl=30)
    assert a.take("job:handoff timer") is not None
    for _ in range(5):
        clock.now += timedelta(seconds=20)
        a.renew_mine()
        assert b.take("job:handoff timer") is None
    sa.close()  # killed; restarted on the same host and port: the same name
    restarted = Claims(StateStore(tmp_path / "state.db", clock, replica="a"), ttl=30)
    assert restarted.forget_previous_life() == 1
    assert b.take("job:handoff timer") is not None
    sb.close()


async def test_under_claim_does_the_work_once_even_when_both_replicas_ask(
    tmp_path: Path,
) -> None:
    clock = Clock()
    sa, sb = two(tmp_path, clock)
    a, b = Claims(sa, ttl=30), Claims(sb, ttl=30)
    work = [1, 2, 3, 4]
    done: list[tuple[str, int]] = []

    def stepper(who: str) -> object:
        async def step() -> bool:
            if not work:
                return False
            item = work.pop(0)
            await asyncio.sleep(0)  # the other replica runs meanwhile
            done.append((who, item))
            return True

        return step

    results = await asyncio.gather(
        under_claim(a, "outbox:parent:x", stepper("a"), stopping=lambda: False),  # type: ignore[arg-type]
        under_claim(b, "outbox:parent:x", stepper("b"), stopping=lambda: False),  # type: ignore[arg-type]
    )
    assert sorted(item for _, item in done) == [1, 2, 3, 4]
    assert len({who for who, _ in done}) == 1 and results.count(True) == 1
    sa.close()
    sb.close()


async def test_two_outboxes_send_each_item_once_in_order_and_resend_what_a_death_cut_off(
    tmp_path: Path,
) -> None:
    clock = Clock()
    sa, sb = two(tmp_path, clock)
    oa, ob = Outbox(sa), Outbox(sb)
    for n in range(30):
        oa.put("parent", f"chat-{n % 3}", "reply", {"n": n})
    sent: list[tuple[str, int]] = []

    async def deliver(items: list[Item]) -> int:
        await asyncio.sleep(0)
        sent.append((items[0].key, int(items[0].payload["n"])))
        return 1

    await asyncio.gather(oa.drain("parent", deliver), ob.drain("parent", deliver))
    assert sorted(n for _, n in sent) == list(range(30))
    for chat in ("chat-0", "chat-1", "chat-2"):
        numbers = [n for key, n in sent if key == chat]
        assert numbers == sorted(numbers)

    # A row marked as being sent by a replica that then died: sent again, and counted.
    oa.put("parent", "chat-9", "reply", {"n": 99})
    with sa.connection[1]:
        sa.connection[0].execute("UPDATE outbox SET sending_by = 'a' WHERE key = 'chat-9'")
    Claims(sa, ttl=30).take("outbox:parent:chat-9")  # a holds the key, then dies
    clock.now += timedelta(seconds=31)
    assert await ob.drain("parent", deliver) == 1
    assert ob.resent_after_crash == 1 and sent[-1] == ("chat-9", 99)
    sa.close()
    sb.close()


async def test_a_job_runs_on_one_replica_and_moves_when_its_claims_expire(
    tmp_path: Path,
) -> None:
    clock = Clock()
    sa, sb = two(tmp_path, clock)
    ja, jb = Jobs(Claims(sa, ttl=30)), Jobs(Claims(sb, ttl=30))
    assert ja.mine("handoff timer") and not jb.mine("handoff timer")
    assert ja.mine("handoff timer")  # keeps it
    clock.now += timedelta(seconds=31)  # a is gone (no heartbeat)
    assert jb.mine("handoff timer")
    assert not ja.mine("handoff timer")  # had it been only paused: it lets go
    sa.close()
    sb.close()
