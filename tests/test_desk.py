"""The desk's rules without a browser: who may see and do what (every route), sign-in,
sessions, CSRF, the audit log, registrations and their link to a family, the workers file's
new keys and the migration of databases that named workers by Telegram id.

The desk's real ASGI app is driven over httpx; the handoff desk, state store and clock are
the real ones. (The browser suite, tests/test_desk_browser.py, does the same end to end.)
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from starlette.applications import Starlette

from bot.cli import main
from bot.conversation.messages import HandoffRequest, Incoming, MediaRef
from bot.conversation.state import StateStore
from bot.desk.auth import DeskSettings, Passwords
from bot.desk.web import DeskWeb
from bot.handoff.desk import HandoffDesk, RecentItem
from bot.handoff.files import DeskFiles
from bot.handoff.registrations import NewRegistration, RegistrationStore
from bot.handoff.workers import SAMPLE_FILE, WorkersError, load_team, parse_team
from bot.retention import Retention, purge

BRUSSELS = ZoneInfo("Europe/Brussels")
PASSWORD = {"samira": "samira-desk-2026", "jonas": "jonas-desk-2026", "nadia": "nadia-desk-2026"}
SECRET_TEXT = "we hebben geen verblijfspapieren"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)  # a Tuesday

    def __call__(self) -> datetime:
        return self.now


class World:
    def __init__(self, tmp: Path, state_db: Path | str | None = None) -> None:
        self.clock = Clock()
        self.state = StateStore(state_db or tmp / "state.db", self.clock)
        self.desk = HandoffDesk(
            self.state, load_team(SAMPLE_FILE), files=DeskFiles(self.state, tmp / "desk-files")
        )
        # Cheap hashes keep these tests quick; the browser suite and the CLI use the real cost.
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        self.web = DeskWeb(
            self.desk,
            settings=DeskSettings(secret="test"),
            passwords=Passwords(self.state, cheap),
            services=lambda: [("ocmw-leuven", "OCMW Leuven"), ("caw-oost-brabant", "CAW")],
            schools=lambda: [("vbs-heilig-hart-heverlee", "VBS Heilig Hart")],
        )
        passwords = self.web.passwords
        for login, password in PASSWORD.items():
            passwords.set(login, password, self.clock())
        self.app = Starlette(routes=self.web.routes())

    def client(self, base: str = "http://desk.test") -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=("192.0.2.7", 5000)),
            base_url=base,
        )

    def handoff(self, chat: str, area: str = "heverlee", **kw: object) -> int:
        values: dict[str, object] = {
            "reason": "human_request",
            "urgent": False,
            "language": "ar",
            "area": area,
        }
        values.update(kw)
        recent = [RecentItem(self.clock(), "parent", "text", SECRET_TEXT)]
        photo = MediaRef("whatsapp", "photo", "MEDIA1", chat, None, None, "image/jpeg")
        recent.append(RecentItem(self.clock(), "parent", "photo", "", photo))
        ticket = self.desk.open(
            Incoming(chat, channel="whatsapp"),
            HandoffRequest(**values),  # type: ignore[arg-type]
            recent,
        )
        return ticket.handoff_id


@pytest.fixture
def world(tmp_path: Path, state_db: Path | str) -> World:
    """The desk on SQLite and on PostgreSQL (``state_db`` in conftest): its sessions, audit
    log, registrations and report as well."""
    return World(tmp_path, state_db)


async def sign_in(client: httpx.AsyncClient, login: str) -> None:
    page = await client.get("/desk/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    response = await client.post(
        "/desk/login",
        data={
            "login": login,
            "password": PASSWORD[login],
            "csrf": token.group(1),
            "next": "/desk/",
        },
    )
    assert response.status_code == 303, response.text


@asynccontextmanager
async def signed_in(
    world: World, login: str, base: str = "http://desk.test"
) -> AsyncIterator[httpx.AsyncClient]:
    async with world.client(base) as client:
        await sign_in(client, login)
        yield client


async def csrf_of(client: httpx.AsyncClient, path: str = "/desk/") -> str:
    page = await client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


@pytest.fixture
async def samira(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with signed_in(world, "samira") as client:
        yield client


@pytest.fixture
async def jonas(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with signed_in(world, "jonas") as client:
        yield client


def staff_items(world: World) -> list[str]:
    return [i.action for items in world.desk.outbox.due("staff").values() for i in items]


def parent_items(world: World) -> list[str]:
    return [i.action for items in world.desk.outbox.due("parent").values() for i in items]


# -- who may see what ---------------------------------------------------------------------


ROUTES = [
    ("GET", "/desk/h/{id}"),
    ("GET", "/desk/h/{id}/messages"),
    ("GET", "/desk/h/{id}/file/2"),
    ("POST", "/desk/h/{id}/pickup"),
    ("POST", "/desk/h/{id}/reply"),
    ("POST", "/desk/h/{id}/note"),
    ("POST", "/desk/h/{id}/transfer"),
    ("POST", "/desk/h/{id}/close"),
    ("POST", "/desk/h/{id}/register"),
    ("POST", "/desk/h/{id}/reopen"),
]


@pytest.mark.parametrize(("method", "route"), ROUTES)
async def test_another_teams_handoff_is_refused_on_every_route(
    world: World, jonas: httpx.AsyncClient, method: str, route: str
) -> None:
    handoff_id = world.handoff("wa-1")
    assert world.desk.pick_up(handoff_id, world.desk.team.get("samira")).ok
    closed_id = world.handoff("wa-2")
    world.desk.pick_up(closed_id, world.desk.team.get("samira"))
    world.desk.close(closed_id, world.desk.team.get("samira"))
    before = (staff_items(world), parent_items(world), world.desk.store.messages(handoff_id))
    token = await csrf_of(jonas)
    for target in (handoff_id, closed_id):
        path = route.format(id=target)
        if method == "GET":
            response = await jonas.get(path)
        elif route.endswith("/reply"):
            response = await jonas.post(
                path,
                data={"csrf": token, "text": "hallo"},
                files={"file": ("x.pdf", b"%PDF-1.4", "application/pdf")},
            )
        else:
            response = await jonas.post(
                path,
                data={
                    "csrf": token,
                    "note": "n",
                    "to": "jonas",
                    "theme": "housing",
                    "contact_type": "chat",
                    "outcome": "answered",
                },
            )
        assert response.status_code == 403, (path, response.status_code)
        assert "hoort niet bij jouw team" in response.text
        assert SECRET_TEXT not in response.text
    assert (
        staff_items(world),
        parent_items(world),
        world.desk.store.messages(handoff_id),
    ) == before
    refused = [e for e in world.web.audit.entries() if e.action == "refused"]
    assert {e.handoff_id for e in refused} == {handoff_id, closed_id}
    assert all(e.worker == "jonas" for e in refused)


async def test_waiting_handoffs_are_for_everyone_then_for_the_team(
    world: World, jonas: httpx.AsyncClient
) -> None:
    handoff_id = world.handoff("wa-1")
    assert (await jonas.get(f"/desk/h/{handoff_id}")).status_code == 200  # nobody has it yet
    world.desk.pick_up(handoff_id, world.desk.team.get("samira"))
    assert (await jonas.get(f"/desk/h/{handoff_id}")).status_code == 403
    mine = world.handoff("wa-3", area="kessel-lo")  # Jonas's own area
    world.desk.pick_up(mine, world.desk.team.get("samira"))
    assert (await jonas.get(f"/desk/h/{mine}")).status_code == 200  # his team's
    async with signed_in(world, "nadia") as nadia:  # the coordinator sees all
        assert (await nadia.get(f"/desk/h/{handoff_id}")).status_code == 200
    lists = (await jonas.get("/desk/")).text
    assert f'data-handoff="{mine}"' in lists and f'data-handoff="{handoff_id}"' not in lists


async def test_only_the_worker_who_has_it_answers_the_parent(
    world: World, samira: httpx.AsyncClient, jonas: httpx.AsyncClient
) -> None:
    handoff_id = world.handoff("wa-1", area="kessel-lo")  # both may see it
    token = await csrf_of(jonas)
    response = await jonas.post(
        f"/desk/h/{handoff_id}/reply", files={"x": ("", b"")}, data={"csrf": token, "text": "hoi"}
    )
    assert response.status_code == 409 and "Pak de vraag eerst op" in response.text
    assert (
        await samira.post(f"/desk/h/{handoff_id}/pickup", data={"csrf": await csrf_of(samira)})
    ).status_code == 303
    again = await jonas.post(f"/desk/h/{handoff_id}/pickup", data={"csrf": token})
    assert again.status_code == 409 and "al opgepakt door Samira" in again.text
    refused = await jonas.post(
        f"/desk/h/{handoff_id}/reply", files={"x": ("", b"")}, data={"csrf": token, "text": "hoi"}
    )
    assert refused.status_code == 409 and "Samira" in refused.text
    assert [a for a in parent_items(world)] == ["reply"]  # only Samira's pick-up message


# -- signing in, sessions, forged requests -----------------------------------------------


async def test_signed_out_forged_and_foreign_requests_are_refused(
    world: World, samira: httpx.AsyncClient
) -> None:
    handoff_id = world.handoff("wa-1")
    async with world.client() as stranger:
        page = await stranger.get(f"/desk/h/{handoff_id}")
        assert page.status_code == 303 and "/desk/login" in page.headers["location"]
        post = await stranger.post(f"/desk/h/{handoff_id}/pickup", data={"csrf": "x"})
        assert post.status_code == 401 and "Aanmelden" in post.text
        stranger.cookies.set("wegwijs_desk", "forged.value", path="/desk")
        assert (await stranger.get("/desk/")).status_code == 303
        poll = await stranger.get("/desk/poll")
        assert poll.status_code == 401 and poll.json()["expired"]
    no_token = await samira.post(f"/desk/h/{handoff_id}/pickup", data={})
    assert no_token.status_code == 403 and "verlopen of niet van jou" in no_token.text
    token = await csrf_of(samira)
    foreign = await samira.post(
        f"/desk/h/{handoff_id}/pickup",
        data={"csrf": token},
        headers={"origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert world.desk.store.get(handoff_id).status == "waiting"  # type: ignore[union-attr]
    ok = await samira.post(
        f"/desk/h/{handoff_id}/pickup", data={"csrf": token}, headers={"origin": "http://desk.test"}
    )
    assert ok.status_code == 303


async def test_the_session_cookie_is_signed_httponly_samesite_and_secure_behind_https(
    world: World,
) -> None:
    async with signed_in(world, "samira", base="https://desk.example.org") as client:
        login = [c for c in client.cookies.jar if c.name == "wegwijs_desk"]
        assert login and login[0].secure and login[0].path == "/desk"
        assert login[0].has_nonstandard_attr("HttpOnly")
        assert (login[0].get_nonstandard_attr("SameSite") or "").lower() == "lax"
    # The database holds only a hash of the token: a copy of it opens no session.
    token = login[0].value.split(".")[0]
    db, _ = world.state.connection
    assert token not in str(db.fetchall("SELECT * FROM desk_sessions"))


async def test_sessions_end_when_idle_and_after_their_lifetime(world: World) -> None:
    async with signed_in(world, "samira") as samira:
        assert (await samira.get("/desk/")).status_code == 200
        world.clock.now += timedelta(minutes=110)
        assert (await samira.get("/desk/")).status_code == 200  # used: kept alive
        world.clock.now += timedelta(minutes=110)
        assert (await samira.get("/desk/poll")).status_code == 200
        world.clock.now += timedelta(minutes=20)  # polling did not count as use
        response = await samira.get("/desk/")
        assert response.status_code == 303 and "why=expired" in response.headers["location"]
    async with signed_in(world, "samira") as samira:
        for _ in range(6):  # in use all day ...
            world.clock.now += timedelta(minutes=110)
            assert (await samira.get("/desk/")).status_code == 200
        world.clock.now += timedelta(minutes=110)  # ... but no longer than 12 hours
        response = await samira.get("/desk/")
        assert response.status_code == 303 and "why=expired" in response.headers["location"]


async def test_sign_in_is_throttled_and_audited_without_content(world: World) -> None:
    async with world.client() as client:
        for _ in range(5):
            token = re.search(
                r'name="csrf" value="([^"]+)"', (await client.get("/desk/login")).text
            )
            wrong = await client.post(
                "/desk/login",
                data={"login": "samira", "password": "guess", "csrf": token.group(1)},  # type: ignore[union-attr]
            )
            assert wrong.status_code == 401 and "klopt niet" in wrong.text
        token = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/desk/login")).text)
        blocked = await client.post(
            "/desk/login",
            data={"login": "samira", "password": PASSWORD["samira"], "csrf": token.group(1)},  # type: ignore[union-attr]
        )
        assert blocked.status_code == 429 and "Te veel mislukte pogingen" in blocked.text
    world.clock.now += timedelta(minutes=16)
    async with signed_in(world, "samira") as client:
        handoff_id = world.handoff("wa-1")
        await client.get(f"/desk/h/{handoff_id}")
    actions = [e.action for e in reversed(world.web.audit.entries())]
    assert actions == ["sign_in_failed"] * 5 + ["sign_in_throttled", "sign_in", "view"]
    dump = str(world.state.connection[0].fetchall("SELECT * FROM desk_audit"))
    assert SECRET_TEXT not in dump and "guess" not in dump and PASSWORD["samira"] not in dump


async def test_an_unknown_login_fails_like_a_wrong_password(world: World) -> None:
    async with world.client() as client:
        token = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/desk/login")).text)
        response = await client.post(
            "/desk/login",
            data={"login": "<b>mallory</b>", "password": "x" * 5000, "csrf": token.group(1)},  # type: ignore[union-attr]
        )
        assert response.status_code == 401 and "klopt niet" in response.text
        assert "<b>mallory" not in response.text  # escaped in the form it shows again
        assert (await client.post("/desk/login", data={"login": "samira"})).status_code == 400


# -- what the page shows -----------------------------------------------------------------


async def test_the_page_shows_the_conversation_escaped_and_the_whatsapp_window(
    world: World, samira: httpx.AsyncClient
) -> None:
    handoff_id = world.handoff("wa-1")
    world.state.heard_from("whatsapp:wa-1", world.clock().timestamp() - 3600)
    handoff = world.desk.store.get(handoff_id)
    world.desk.from_parent(
        handoff, Incoming("wa-1", "<img src=x onerror=alert(1)>", channel="whatsapp")
    )  # type: ignore[arg-type]
    page = (await samira.get(f"/desk/h/{handoff_id}")).text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    assert 'dir="auto"' in page and SECRET_TEXT in page
    assert "WhatsApp-venster open: nog 23 u 00 min" in page
    assert f"/desk/h/{handoff_id}/file/2" in page  # the parent's photo, through the channel
    world.clock.now += timedelta(hours=24)
    await sign_in(samira, "samira")  # a day is longer than a session lives
    page = (await samira.get(f"/desk/h/{handoff_id}")).text
    assert "WhatsApp-venster dicht" in page


async def test_poll_tells_what_changed_and_notifies_without_content(
    world: World, samira: httpx.AsyncClient
) -> None:
    start = (await samira.get("/desk/poll")).json()["after"]
    handoff_id = world.handoff("wa-1")
    handoff = world.desk.store.get(handoff_id)
    world.desk.from_parent(handoff, Incoming("wa-1", SECRET_TEXT, channel="whatsapp"))  # type: ignore[arg-type]
    data = (await samira.get(f"/desk/poll?after={start}")).json()
    kinds = [(e["kind"], e["notify"]) for e in data["events"]]
    assert kinds == [("opened", True), ("parent", True)]
    assert SECRET_TEXT not in str(data)
    assert data["waiting"] == 1


def test_without_a_staff_group_nothing_is_queued_for_it_and_the_desk_is_told(
    tmp_path: Path,
) -> None:
    clock = Clock()
    state = StateStore(tmp_path / "s.db", clock)
    desk = HandoffDesk(state, load_team(SAMPLE_FILE), staff_room=False)
    handoff_id = desk.open(
        Incoming("wa-9", channel="whatsapp"), HandoffRequest("human_request", False, "nl"), []
    ).handoff_id
    desk.from_parent(desk.store.get(handoff_id), Incoming("wa-9", "hallo", channel="whatsapp"))  # type: ignore[arg-type]
    clock.now += timedelta(minutes=31)
    desk.tick()
    clock.now += timedelta(minutes=100)
    desk.tick()
    assert desk.outbox.count_pending("staff") == 0
    kinds = [e.kind for e in desk.events.since(0)]
    assert kinds == ["opened", "parent", "reannounce", "escalate"]
    assert desk.pick_up(handoff_id, desk.team.get("samira"), via="desk").ok
    assert desk.outbox.count_pending("staff") == 0 and desk.outbox.count_pending("parent") == 1


# -- registrations ------------------------------------------------------------------------


async def test_close_needs_a_light_but_complete_registration(
    world: World, samira: httpx.AsyncClient
) -> None:
    handoff_id = world.handoff("wa-1", need="housing")
    token = await csrf_of(samira)
    await samira.post(f"/desk/h/{handoff_id}/pickup", data={"csrf": token})
    bad = await samira.post(
        f"/desk/h/{handoff_id}/close",
        data={"csrf": token, "outcome": "follow_up", "follow_up_on": "2026-11-20"},
    )
    assert bad.status_code == 400
    for problem in ("Kies minstens één thema", "Kies hoe het contact verliep", "vanaf morgen"):
        assert problem in bad.text
    assert world.desk.store.get(handoff_id).is_open  # type: ignore[union-attr]
    good = await samira.post(
        f"/desk/h/{handoff_id}/close",
        data={
            "csrf": token,
            "theme": ["housing", "new_parents", "not-a-theme"],
            "contact_type": "chat",
            "outcome": "follow_up",
            "follow_up_on": "2026-12-01",
            "service": ["caw-oost-brabant", "made-up-service"],
            "new_family": "1",
        },
    )
    assert good.status_code == 303
    (reg,) = RegistrationStore(world.state).for_handoff(handoff_id)
    assert reg.themes == ("housing", "new_parents") and reg.services == ("caw-oost-brabant",)
    assert reg.follow_up_on == date(2026, 12, 1) and reg.new_family
    row = str(world.state.connection[0].fetchall("SELECT * FROM registrations"))
    assert SECRET_TEXT not in row and "wa-1" not in row


async def test_a_contact_outside_the_bot_is_registered_in_a_few_clicks(
    world: World, samira: httpx.AsyncClient
) -> None:
    form = (await samira.get("/desk/register")).text
    assert 'value="walk_in" checked' in form and 'value="answered" checked' in form
    token = await csrf_of(samira, "/desk/register")
    response = await samira.post(
        "/desk/register",
        data={
            "csrf": token,
            "theme": "school_costs",
            "contact_type": "walk_in",
            "outcome": "answered",
            "contact_on": "2026-11-24",
            "school": "vbs-heilig-hart-heverlee",
            "area": "heverlee",
        },
    )
    assert response.status_code == 303
    (reg,) = RegistrationStore(world.state).by_worker("samira", date(2026, 9, 1))
    assert (reg.source, reg.contact_type, reg.school, reg.handoff_id) == (
        "direct",
        "walk_in",
        "vbs-heilig-hart-heverlee",
        None,
    )
    future = await samira.post(
        "/desk/register",
        data={
            "csrf": token,
            "theme": "food",
            "contact_type": "phone",
            "outcome": "answered",
            "contact_on": "2026-12-24",
        },
    )
    assert future.status_code == 400 and "toekomst" in future.text


def test_the_link_to_a_family_follows_forget_and_the_retention_time(world: World) -> None:
    store = RegistrationStore(world.state)
    samira = world.desk.team.get("samira")
    ids = []
    for chat in ("wa-1", "wa-2"):
        handoff_id = world.handoff(chat)
        world.desk.pick_up(handoff_id, samira)
        world.desk.close(handoff_id, samira)
        ids.append(handoff_id)
        store.add(
            NewRegistration(
                contact_on=world.clock().date(),
                worker="samira",
                source="handoff",
                contact_type="chat",
                outcome="follow_up",
                themes=("housing",),
                handoff_id=handoff_id,
                follow_up_on=world.clock().date() + timedelta(days=40),
            ),
            world.clock(),
        )
    # /forget: the registration stays (the figures), its link and the promise go.
    world.desk.forget("whatsapp:wa-1")
    world.state.forget("whatsapp:wa-1")
    (forgotten,) = [r for r in store.by_worker("samira", date(2026, 9, 1)) if r.handoff_id is None]
    assert forgotten.follow_up_on is None and forgotten.themes == ("housing",)
    # Retention: kept until the promised follow-up, then gone 30 days after it.
    policy = Retention(30)
    start = world.clock.now
    world.clock.now = start + timedelta(days=35)  # closed 35 days ago, follow-up in 5 days
    purge(world.state, world.desk, policy, world.clock())
    assert world.desk.store.get(ids[1]) is not None
    world.clock.now = start + timedelta(days=69)  # 29 days after the follow-up date
    purge(world.state, world.desk, policy, world.clock())
    assert world.desk.store.get(ids[1]) is not None
    world.clock.now = start + timedelta(days=71)
    purge(world.state, world.desk, policy, world.clock())
    assert world.desk.store.get(ids[1]) is None
    assert all(r.handoff_id is None for r in store.by_worker("samira", date(2026, 9, 1)))


async def test_a_desk_upload_is_erased_with_its_handoff(
    world: World, samira: httpx.AsyncClient
) -> None:
    handoff_id = world.handoff("wa-1")
    token = await csrf_of(samira)
    await samira.post(f"/desk/h/{handoff_id}/pickup", data={"csrf": token})
    sent = await samira.post(
        f"/desk/h/{handoff_id}/reply",
        data={"csrf": token, "text": ""},
        files={"file": ("../../etc/brief.pdf", b"%PDF-1.4 brief", "application/pdf")},
    )
    assert sent.status_code == 303
    files = list(world.desk.files.directory.iterdir())  # type: ignore[union-attr]
    assert len(files) == 1 and files[0].read_bytes() == b"%PDF-1.4 brief"
    (item,) = [
        i
        for items in world.desk.outbox.due("parent").values()
        for i in items
        if i.action == "media"
    ]
    assert (
        item.payload["media"]["channel"] == "desk"
        and item.payload["media"]["file_name"] == "brief.pdf"
    )
    fetched = await world.desk.files.fetch(MediaRef(**item.payload["media"]))
    assert fetched.content == b"%PDF-1.4 brief" and fetched.mime_type == "application/pdf"
    world.desk.forget("whatsapp:wa-1")
    world.state.forget("whatsapp:wa-1")
    assert list(world.desk.files.directory.iterdir()) == []  # type: ignore[union-attr]


# -- the workers file and old databases ------------------------------------------------------


def test_a_desk_only_worker_needs_no_telegram_and_ids_are_checked() -> None:
    team = parse_team(
        {
            "workers": [
                {
                    "id": "lotte",
                    "first_name": "Lotte",
                    "languages": ["nl"],
                    "hours": "Mo-Fr 09:00-17:00",
                },
                {
                    "first_name": "Anaïs",
                    "languages": ["fr"],
                    "hours": "Mo-Fr 09:00-17:00",
                    "telegram_user_id": 5,
                },
            ]
        }
    )
    assert [(w.key, w.telegram_user_id) for w in team.workers] == [("lotte", None), ("anais", 5)]
    assert team.get("lotte") is not None and team.by_user(None) is None
    assert team.find("tg:5") is team.workers[1]  # how old handoffs named her
    with pytest.raises(WorkersError) as caught:
        parse_team(
            {
                "workers": [
                    {"first_name": "سميرة", "languages": ["ar"], "hours": "Mo 09:00-12:00"},
                    {
                        "id": "Bad Id!",
                        "first_name": "B",
                        "languages": ["nl"],
                        "hours": "Mo 09:00-12:00",
                    },
                    {"id": "x", "first_name": "C", "languages": ["nl"], "hours": "Mo 09:00-12:00"},
                    {"id": "x", "first_name": "D", "languages": ["nl"], "hours": "Mo 09:00-12:00"},
                ]
            }
        )
    message = str(caught.value)
    assert "id is missing" in message and "id must be a short login id" in message
    assert "id `x` is used twice" in message


def test_a_database_that_named_workers_by_telegram_id_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE handoffs (
            id INTEGER PRIMARY KEY AUTOINCREMENT, chat_key TEXT NOT NULL, channel TEXT NOT NULL,
            chat_id TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'waiting', reason TEXT NOT NULL,
            urgent INTEGER NOT NULL DEFAULT 0, need TEXT, area TEXT, school TEXT,
            language TEXT NOT NULL, routed_to INTEGER, routed_why TEXT, worker_id INTEGER,
            topic_id INTEGER, summary_message_id INTEGER, created_at TEXT NOT NULL,
            due_at TEXT NOT NULL, announced_at TEXT, escalated_at TEXT, picked_up_at TEXT,
            closed_at TEXT);
        CREATE TABLE handoff_messages (id INTEGER PRIMARY KEY AUTOINCREMENT,
            handoff_id INTEGER NOT NULL, at TEXT NOT NULL, sender TEXT NOT NULL,
            kind TEXT NOT NULL, text TEXT NOT NULL DEFAULT '');
        INSERT INTO handoffs (chat_key, channel, chat_id, status, reason, language, routed_to,
            worker_id, created_at, due_at) VALUES
            ('telegram:1', 'telegram', '1', 'active', 'human_request', 'ar', 900000001,
             900000002, '2026-11-24T09:00:00+00:00', '2026-11-24T09:00:00+00:00'),
            ('telegram:2', 'telegram', '2', 'waiting', 'media', 'nl', 123, NULL,
             '2026-11-24T09:00:00+00:00', '2026-11-24T09:00:00+00:00');
        INSERT INTO handoff_messages (handoff_id, at, sender, kind, text)
            VALUES (1, '2026-11-24T09:00:00+00:00', 'parent', 'text', 'hallo');
        """
    )
    db.commit()
    db.close()
    state = StateStore(path, Clock())
    desk = HandoffDesk(state, load_team(SAMPLE_FILE))
    first, second = desk.store.get(1), desk.store.get(2)
    assert first is not None and (first.worker_key, first.routed_key) == ("jonas", "samira")
    assert second is not None and second.routed_key == "tg:123"  # nobody the team knows
    assert desk.store.transcript(1)[0][3] == "hallo"
    columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(handoffs)")}
    assert "worker_id" not in columns and "worker_key" in columns
    assert desk.worker_name(1) == "Samira" or desk.worker_name(1) == "Jonas"
    StateStore(path).close()  # opening again changes nothing


def test_wegwijs_desk_passwd_revoke_and_audit(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {
        "WEGWIJS_STATE_DB": str(tmp_path / "state.db"),
        "WEGWIJS_BRIDGE_WORKERS": str(SAMPLE_FILE),
    }
    done = runner.invoke(
        main,
        ["desk", "passwd", "samira", "--password-stdin"],
        input="a long desk password\n",
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert "Password set for Samira (login: samira)" in done.output
    state = StateStore(tmp_path / "state.db")
    stored = str(
        sqlite3.connect(tmp_path / "state.db").execute("SELECT * FROM desk_passwords").fetchall()
    )
    assert "a long desk password" not in stored and "$argon2id$" in stored
    assert Passwords(state).check("samira", "a long desk password", Clock()())
    short = runner.invoke(
        main, ["desk", "passwd", "samira", "--password-stdin"], input="short\n", env=env
    )
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    unknown = runner.invoke(
        main, ["desk", "passwd", "mallory", "--password-stdin"], input="x" * 12 + "\n", env=env
    )
    assert unknown.exit_code != 0 and "no worker with id 'mallory'" in unknown.output
    revoked = runner.invoke(main, ["desk", "revoke", "samira"], env=env)
    assert revoked.exit_code == 0 and "password removed" in revoked.output
    assert not Passwords(state).has("samira")
    audit = runner.invoke(main, ["desk", "audit", "--days", "7"], env=env)
    assert audit.exit_code == 0 and audit.output.startswith("at,worker,action,handoff,detail")


async def test_transfer_to_a_named_colleague_with_a_note(
    world: World, samira: httpx.AsyncClient, jonas: httpx.AsyncClient
) -> None:
    handoff_id = world.handoff("wa-1", area="kessel-lo")  # Jonas's area: he sees it
    token = await csrf_of(samira)
    await samira.post(f"/desk/h/{handoff_id}/pickup", data={"csrf": token})
    jonas_token = await csrf_of(jonas)
    taken = await jonas.post(
        f"/desk/h/{handoff_id}/transfer", data={"csrf": jonas_token, "to": "jonas", "note": ""}
    )
    assert taken.status_code == 403  # only who has it (or the coordinator) passes it on
    nobody = await samira.post(
        f"/desk/h/{handoff_id}/transfer", data={"csrf": token, "to": "pieter"}
    )
    assert nobody.status_code == 409 and "actieve brugfiguren" in nobody.text  # inactive
    moved = await samira.post(
        f"/desk/h/{handoff_id}/transfer",
        data={"csrf": token, "to": "jonas", "note": "spreekt Frans, vraag over huur"},
    )
    assert moved.status_code == 303
    handoff = world.desk.store.get(handoff_id)
    assert handoff is not None and handoff.worker_key == "jonas"
    notes = [m for m in world.desk.store.messages(handoff_id) if m.sender == "note"]
    assert [(n.text, n.author) for n in notes] == [("spreekt Frans, vraag over huur", "samira")]
    staff = [
        i.payload["text"]
        for items in world.desk.outbox.due("staff").values()
        for i in items
        if i.action == "picked_up"
    ]
    assert "gaf deze vraag door aan" in staff[-1] and "spreekt Frans" in staff[-1]
    parent = [
        i.payload["text"] for items in world.desk.outbox.due("parent").values() for i in items
    ]
    assert "Jonas" in parent[-1] and "spreekt Frans" not in str(parent)  # the note stays inside
    page = (await jonas.get(f"/desk/h/{handoff_id}")).text
    assert 'id="reply-text"' in page  # now his to answer


async def test_a_follow_up_brings_the_handoff_back_and_it_can_be_reopened(
    world: World, samira: httpx.AsyncClient
) -> None:
    handoff_id = world.handoff("wa-1")
    token = await csrf_of(samira)
    await samira.post(f"/desk/h/{handoff_id}/pickup", data={"csrf": token})
    closed = await samira.post(
        f"/desk/h/{handoff_id}/close",
        data={
            "csrf": token,
            "theme": "housing",
            "contact_type": "chat",
            "outcome": "referred",
            "follow_up_on": "2026-11-27",
        },
    )
    assert closed.status_code == 303
    assert "s-follow" not in (await samira.get("/desk/")).text
    world.clock.now += timedelta(days=3)  # the day of the follow-up
    await sign_in(samira, "samira")
    lists = (await samira.get("/desk/")).text
    assert "s-follow" in lists and f"vraag #{handoff_id}" in lists
    token = await csrf_of(samira)
    reopened = await samira.post(f"/desk/h/{handoff_id}/reopen", data={"csrf": token})
    assert reopened.status_code == 303
    handoff = world.desk.store.get(handoff_id)
    assert handoff is not None and handoff.status == "active" and handoff.worker_key == "samira"
    assert "s-follow" not in (await samira.get("/desk/")).text  # the promise is being kept
    staff = [i.action for items in world.desk.outbox.due("staff").values() for i in items]
    assert staff[-1] == "reopened"
    # The parent opened a new question meanwhile: the old one cannot be reopened next to it.
    world.desk.close(handoff_id, world.desk.team.get("samira"))
    world.handoff("wa-1")
    refused = await samira.post(f"/desk/h/{handoff_id}/reopen", data={"csrf": token})
    assert refused.status_code == 409 and "nieuwe vraag open" in refused.text
