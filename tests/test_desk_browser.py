"""The desk in a real browser (Debian's chromium, driven by Playwright), against the real bot
(``BotServer`` served over HTTP), the real Rasa server and the fake Telegram at the network
boundary.

A bridge worker signs in, sees a new Arabic handoff appear without reloading, picks it up,
answers with text and a PDF that reach the parent on Telegram, sees the parent's photo, writes
an internal note, and closes with a registration; the Telegram topic shows each step. A
colleague outside the team is refused. Then the bad cases: a double click, two workers at the
same moment, an expired session, a 50 MB file, a script in a note, a worker set inactive.
"""

from __future__ import annotations

import asyncio
import shutil
import tracemalloc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import WAIT, chromium, screenshot, sign_in, tiny_pdf, tiny_png
from e2e import STAFF, Clock, buttons, text_of, until
from playwright.async_api import Browser, Page, expect

from bot.app import Wegwijs, wegwijs
from bot.channels.telegram.config import TelegramConfig
from bot.conversation.i18n import Lang
from bot.desk.auth import DeskSettings, Passwords
from bot.handoff.registrations import RegistrationStore
from bot.handoff.workers import SAMPLE_FILE, TeamFile
from bot.server import BotServer
from fakes.serving import serving
from fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.rasa
PASSWORDS = {"samira": "samira-desk-2026", "jonas": "jonas-desk-2026", "nadia": "nadia-desk-2026"}
LOADED_IMAGE = """() => {
    const image = document.querySelector('#messages li.from-parent img');
    return image && image.complete && image.naturalWidth > 0;
}"""
ARABIC = "أريد التحدث مع شخص حقيقي، أسكن في هيفرلي"  # "a real person please; I live in Heverlee"


class Desk:
    def __init__(self, server: BotServer, app: Wegwijs, url: str, workers: Path) -> None:
        self.server, self.app, self.url, self.workers = server, app, url, workers


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_group(STAFF, "Brugfiguren Leuven")
        yield server


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


@pytest.fixture
def run_desk(
    fake: FakeTelegram, rasa_url: str, map_db: Path, tmp_path: Path, clock: Clock
) -> Callable[..., Any]:
    workers = tmp_path / "bridge_workers.yml"
    shutil.copy(SAMPLE_FILE, workers)

    @asynccontextmanager
    async def running() -> AsyncIterator[Desk]:
        config = TelegramConfig(
            token=fake.token, staff_chat_id=STAFF, api_base_url=fake.url, poll_timeout=1
        )
        settings = DeskSettings(poll_seconds=0.3, max_upload=8 * 1024 * 1024, secret="test")
        async with (
            wegwijs(
                rasa_url,
                team=TeamFile(workers),
                staff_room=True,
                state_path=tmp_path / "state.db",
                map_path=map_db,
                clock=clock,
                nlu_timeout=5.0,
            ) as app,
            BotServer(app, config, tick_every=3600, outbox_idle=0.05, desk=settings) as server,
            serving(server.asgi()) as url,
        ):
            passwords = Passwords(app.state)
            for login, password in PASSWORDS.items():
                passwords.set(login, password, clock())
            yield Desk(server, app, url, workers)

    return running


async def arabic_handoff(fake: FakeTelegram, parent: int) -> tuple[int, dict[str, Any]]:
    """An Arabic-speaking parent in Heverlee asks for a person and consents."""
    fake.parent_text(parent, ARABIC, language_code="ar")
    consent = await until(fake, parent, lambda m: "handoff:yes" in buttons(m))
    fake.press(parent, consent, "handoff:yes")
    await until(fake, parent, lambda m: "Samira" in text_of(m))
    await fake.wait_for_call("createForumTopic")
    topic = max(fake.topics)
    (summary,) = await fake.wait_for_messages(STAFF, 1, thread_id=topic)
    return topic, summary


def is_reading(text: str) -> bool:
    """The parent's message that a named worker is now reading their question (Arabic)."""
    t = Lang("ar")
    return any(
        text.startswith(
            t._("{name}, a bridge worker, is now reading your question.").format(name=t.ltr(name))
        )
        for name in ("Samira", "Nadia")
    )


async def signed_in(browser: Browser, desk: Desk, login: str, **context: Any) -> Page:
    page = await (await browser.new_context(locale="nl-BE", **context)).new_page()
    await sign_in(page, desk.url, login, PASSWORDS[login])
    await expect(page.locator("#lists")).to_be_visible(timeout=WAIT)
    return page


async def test_a_worker_answers_an_arabic_parent_from_the_desk(
    fake: FakeTelegram, run_desk: Callable[..., Any], browser: Browser, clock: Clock
) -> None:
    parent = 3001
    async with run_desk() as desk:
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE")
        page = await context.new_page()
        await page.goto(desk.url + "/desk/")
        await expect(page.locator("#login")).to_be_visible()
        await screenshot(page, "desk-login")
        await sign_in(page, desk.url, "samira", PASSWORDS["samira"])
        await expect(page.locator("#s-waiting")).to_contain_text("0")

        # A new handoff appears in the open desk without a reload.
        topic, _ = await arabic_handoff(fake, parent)
        row = page.locator("#lists .row[data-handoff='1']")
        await expect(row).to_be_visible(timeout=WAIT)
        await expect(row).to_contain_text("Arabisch")
        await expect(page.locator("#live")).to_contain_text("Nieuwe vraag #1")
        await screenshot(page, "desk-lists")

        await row.locator("a").click()
        first = page.locator("#messages li.from-parent .text").first
        await expect(first).to_contain_text("شخص حقيقي")
        assert await first.evaluate("e => getComputedStyle(e).direction") == "rtl"
        assert await first.get_attribute("dir") == "auto"

        # Pick up: the parent hears Samira's name, the topic shows it was done in the desk.
        await page.click("#pickup")
        await expect(page.locator("#status")).to_contain_text("Samira", timeout=WAIT)
        picked = await until(fake, parent, lambda m: "Samira" in text_of(m))
        assert "Samira" in text_of(picked)
        shown = await until(fake, STAFF, lambda m: "Opgepakt" in text_of(m), thread=topic)
        assert "in de desk" in text_of(shown)

        # Answer with text and a PDF: both reach the parent on Telegram.
        await page.fill(
            "#reply-text", "مرحبا، أنا سميرة. Ik stuur je het formulier van de OCMW (016 24 80 00)."
        )
        await page.set_input_files(
            "#reply-file",
            files=[
                {"name": "inschrijving.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf()}
            ],
        )
        await page.click("#send")
        await expect(page.locator(".notice")).to_contain_text("Verstuurd", timeout=WAIT)
        document = await until(fake, parent, lambda m: "document" in m)
        assert document["document"]["file_name"] == "inschrijving.pdf"
        assert fake.file_content(document["document"]["file_id"]) == tiny_pdf()
        assert "016 24 80 00" in text_of(document) and "Samira" in text_of(document)
        in_topic = await until(fake, STAFF, lambda m: "document" in m, thread=topic)
        assert "(desk)" in text_of(in_topic)

        # The parent answers with a photo of a letter: it shows in the page, live.
        photo = fake.parent_media(parent, "photo", caption="هذه الرسالة", language_code="ar")
        fake.set_file_content(photo["photo"][-1]["file_id"], tiny_png())
        image = page.locator("#messages li.from-parent img")
        await expect(image).to_be_visible(timeout=WAIT)
        await page.wait_for_function(LOADED_IMAGE, timeout=WAIT)  # fetched through Telegram

        # An internal note with a script in it: shown as text, never run, never to the parent.
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await page.click("details.note summary")
        await page.fill("#note-text", "<script>alert('x')</script> belt morgen terug")
        await page.click("#save-note")
        note = page.locator("#messages li.from-note .text")
        await expect(note).to_have_text(
            "<script>alert('x')</script> belt morgen terug", timeout=WAIT
        )
        assert dialogs == []
        topic_note = await until(
            fake, STAFF, lambda m: "Interne notitie" in text_of(m), thread=topic
        )
        assert "<script>" in text_of(topic_note)  # literal text in Telegram too
        await screenshot(page, "desk-handoff", full_page=True)

        # Close with a registration.
        await page.click("details.closing summary")
        form = page.locator("form[action$='/close']")
        await form.locator("input[name=theme][value=paperwork]").check()
        await form.locator("input[name=theme][value=listening_ear]").check()
        await form.locator("input.filter").fill("ocmw")
        await form.locator("input[name=service][value=ocmw-leuven]").check()
        await form.locator("input[name=outcome][value=referred]").check()
        follow_up = (clock.now + timedelta(days=7)).date().isoformat()
        await form.locator("input[name=follow_up_on]").fill(follow_up)
        await screenshot(page, "desk-close", full_page=True)
        await page.click("#close")
        await expect(page.locator(".notice")).to_contain_text("geregistreerd", timeout=WAIT)
        closed = await until(fake, parent, lambda m: "handoff:offer" in buttons(m))
        assert closed
        await until(
            fake, STAFF, lambda m: "Afgesloten door Samira (in de desk)" in text_of(m), thread=topic
        )
        await fake.wait_for_call("closeForumTopic")

        (registration,) = RegistrationStore(desk.app.state).for_handoff(1)
        assert set(registration.themes) == {"paperwork", "listening_ear"}
        assert registration.services == ("ocmw-leuven",)
        assert (registration.outcome, registration.contact_type) == ("referred", "chat")
        assert registration.follow_up_on is not None
        assert registration.follow_up_on.isoformat() == follow_up
        assert (registration.language, registration.area) == ("ar", "heverlee")

        # On that day the handoff is back in Samira's list (after signing in again: a week
        # is longer than a session lives).
        clock.now += timedelta(days=7)
        await sign_in(page, desk.url, "samira", PASSWORDS["samira"])
        follow = page.locator("#s-follow")
        await expect(follow).to_be_visible()
        await expect(page.locator(".follow")).to_contain_text("vraag #1")
        await screenshot(page, "desk-follow-up")

        # The same desk on a phone.
        phone = await signed_in(
            browser, desk, "samira", viewport={"width": 390, "height": 844}, is_mobile=True
        )
        await phone.goto(desk.url + "/desk/h/1")
        await screenshot(phone, "desk-phone")
        await expect(phone.locator("#messages")).to_be_visible()


async def test_a_colleague_outside_the_team_is_refused(
    fake: FakeTelegram, run_desk: Callable[..., Any], browser: Browser
) -> None:
    parent = 3002
    async with run_desk() as desk:
        _, summary = await arabic_handoff(fake, parent)
        jonas = await signed_in(browser, desk, "jonas")
        # While nobody has it, anyone may see it (so that nobody waits for one person).
        await expect(jonas.locator("#lists .row[data-handoff='1']")).to_be_visible(timeout=WAIT)
        fake.press(900000001, summary, "staff:pickup:1", first_name="Samira")  # in Telegram
        await until(fake, parent, lambda m: "Samira" in text_of(m))
        # Once Samira has it, it is her team's: gone from Jonas's list, refused by URL.
        await expect(jonas.locator("#lists .row[data-handoff='1']")).to_have_count(0, timeout=WAIT)
        response = await jonas.goto(desk.url + "/desk/h/1")
        assert response is not None and response.status == 403
        await expect(jonas.locator(".notice")).to_contain_text("hoort niet bij jouw team")
        assert "شخص" not in await jonas.content()
        await screenshot(jonas, "desk-refused")
        entries = [(e.worker, e.action, e.handoff_id) for e in desk.server.desk.audit.entries()]
        assert ("jonas", "refused", 1) in entries


async def test_telegram_and_the_desk_show_each_others_steps(
    fake: FakeTelegram, run_desk: Callable[..., Any], browser: Browser
) -> None:
    parent = 3003
    async with run_desk() as desk:
        topic, summary = await arabic_handoff(fake, parent)
        page = await signed_in(browser, desk, "samira")
        await page.goto(desk.url + "/desk/h/1")
        await expect(page.locator("#pickup")).to_be_visible()
        fake.press(900000001, summary, "staff:pickup:1", first_name="Samira")
        await expect(page.locator("#status")).to_contain_text("Opgepakt", timeout=WAIT)  # reloaded
        fake.group_text(STAFF, 900000001, "Dag, ik help je graag.", thread_id=topic)
        await expect(page.locator("#messages li.from-worker").last).to_contain_text(
            "ik help je graag", timeout=WAIT
        )
        fake.group_text(STAFF, 900000001, "/note belt vrijdag terug", thread_id=topic)
        await expect(page.locator("#messages li.from-note").last).to_contain_text(
            "vrijdag", timeout=WAIT
        )
        fake.group_text(STAFF, 900000001, "/close", thread_id=topic)
        await expect(page.locator("#status")).to_contain_text("Afgesloten", timeout=WAIT)
        # Closed in Telegram: the desk asks Samira to register it.
        await page.goto(desk.url + "/desk/")
        await expect(page.locator("#s-register")).to_be_visible()
        await page.goto(desk.url + "/desk/h/1")
        form = page.locator("form[action$='/register']")
        await form.locator("input[name=theme][value=school_questions]").check()
        await form.locator("input[name=outcome][value=answered]").check()
        await page.click("#register")
        await expect(page.locator(".notice")).to_contain_text("Geregistreerd", timeout=WAIT)
        assert len(RegistrationStore(desk.app.state).for_handoff(1)) == 1


async def test_a_double_click_and_two_workers_at_once_pick_up_once(
    fake: FakeTelegram, run_desk: Callable[..., Any], browser: Browser
) -> None:
    async with run_desk() as desk:
        _, _ = await arabic_handoff(fake, 3004)
        samira = await signed_in(browser, desk, "samira")
        await samira.goto(desk.url + "/desk/h/1")
        await samira.dblclick("#pickup")
        await expect(samira.locator("#status")).to_contain_text("Samira", timeout=WAIT)
        assert "error" not in (await samira.locator(".notice").get_attribute("class") or "")

        topic2, _ = await arabic_handoff(fake, 3005)
        nadia = await signed_in(browser, desk, "nadia")
        for page in (samira, nadia):
            await page.goto(desk.url + "/desk/h/2")
            await expect(page.locator("#pickup")).to_be_visible()
        await asyncio.gather(samira.click("#pickup"), nadia.click("#pickup"))
        # Whoever was first has it; the other one's page says who (the refusal, or the live
        # update that reloaded it), and offers no reply form.
        for page in (samira, nadia):
            await expect(page.locator("#status")).to_contain_text("bij", timeout=WAIT)
        handoff = desk.app.desk.store.get(2)
        assert handoff is not None and handoff.worker_key in ("samira", "nadia")
        winner, loser = (samira, nadia) if handoff.worker_key == "samira" else (nadia, samira)
        name = handoff.worker_key.capitalize()
        for page in (winner, loser):
            await expect(page.locator("#status")).to_contain_text(name, timeout=WAIT)
        await expect(winner.locator("#reply-text")).to_be_visible()
        await expect(loser.locator("#reply-text")).to_have_count(0)
        await asyncio.sleep(0.5)  # let the outbox send whatever it would
        for parent in (3004, 3005):
            picked = [m for m in fake.sent(parent) if is_reading(text_of(m))]
            assert len(picked) == 1, [text_of(m) for m in fake.sent(parent)]
        opened = [m for m in fake.sent(STAFF, thread_id=topic2) if "Opgepakt" in text_of(m)]
        assert len(opened) == 1


async def test_an_expired_session_loses_nothing(
    fake: FakeTelegram, run_desk: Callable[..., Any], browser: Browser, clock: Clock
) -> None:
    parent = 3006
    async with run_desk() as desk:
        await arabic_handoff(fake, parent)
        page = await signed_in(browser, desk, "samira")
        await page.goto(desk.url + "/desk/h/1")
        await page.click("#pickup")
        await expect(page.locator("#reply-text")).to_be_visible(timeout=WAIT)
        await page.fill("#reply-text", "Ik bel je morgen om 10 uur.")
        clock.now += timedelta(hours=3)  # longer than the idle time: the session has ended
        await page.click("#send")
        await expect(page.locator(".notice")).to_contain_text("sessie is verlopen", timeout=WAIT)
        await page.fill("#login", "samira")
        await page.fill("#password", PASSWORDS["samira"])
        await page.click("form[action$='/login'] button")
        await expect(page.locator("#reply-text")).to_have_value(
            "Ik bel je morgen om 10 uur.", timeout=WAIT
        )
        assert all("10 uur" not in text_of(m) for m in fake.sent(parent))
        await page.click("#send")
        await until(fake, parent, lambda m: "Ik bel je morgen om 10 uur." in text_of(m))


async def test_a_file_that_is_too_large_gets_a_clear_answer(
    fake: FakeTelegram, run_desk: Callable[..., Any], browser: Browser, tmp_path: Path
) -> None:
    parent = 3007
    big = tmp_path / "scan.pdf"
    with big.open("wb") as out:  # 50 MB
        out.write(b"%PDF-1.4\n")
        out.truncate(50 * 1024 * 1024)
    async with run_desk() as desk:
        await arabic_handoff(fake, parent)
        page = await signed_in(browser, desk, "samira")
        await page.goto(desk.url + "/desk/h/1")
        await page.click("#pickup")
        await page.fill("#reply-text", "Hier is de scan.")
        # In the browser: said at once, before anything is uploaded.
        await page.set_input_files("#reply-file", str(big))
        await expect(page.locator("#file-problem")).to_contain_text("te groot (50 MB)")
        assert await page.locator("#reply-file").input_value() == ""
        await expect(page.locator("#reply-text")).to_have_value("Hier is de scan.")

        # Without the script (an old browser, a script blocked): the server reads the upload
        # to disk in chunks, drops it past the limit and answers clearly, keeping the text.
        cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
        html = await page.content()
        csrf = html.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        tracemalloc.start()
        async with httpx.AsyncClient(base_url=desk.url, cookies=cookies, timeout=120) as client:
            with big.open("rb") as upload:
                response = await client.post(
                    "/desk/h/1/reply",
                    data={"csrf": csrf, "text": "Hier is de scan."},
                    files={"file": ("scan.pdf", upload, "application/pdf")},
                    headers={"origin": desk.url},
                )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert response.status_code == 413
        assert "te groot (50 MB)" in response.text and "het maximum is 8 MB" in response.text
        assert ">Hier is de scan.</textarea>" in response.text
        assert peak < 16 * 1024 * 1024  # the 50 MB never sat in memory (client and server)
        files_dir = Path(desk.app.state.path).parent / "desk-files"
        assert not files_dir.exists() or list(files_dir.iterdir()) == []
        assert desk.app.desk.outbox.statuses(1) == {}
        assert all("scan" not in text_of(m) for m in fake.sent(parent))


async def test_a_worker_set_inactive_loses_access_at_once(
    fake: FakeTelegram, run_desk: Callable[..., Any], browser: Browser
) -> None:
    async with run_desk() as desk:
        jonas = await signed_in(browser, desk, "jonas")
        text = desk.workers.read_text(encoding="utf-8")
        start = text.index("  - id: jonas")
        end = text.index("  - id: nadia")
        desk.workers.write_text(
            text[:start] + text[start:end].replace("active: true", "active: false") + text[end:],
            encoding="utf-8",
        )
        await jonas.goto(desk.url + "/desk/")
        await expect(jonas.locator(".notice")).to_contain_text("geen toegang")
        await sign_in(jonas, desk.url, "jonas", PASSWORDS["jonas"])
        await expect(jonas.locator(".notice.bad")).to_contain_text("klopt niet")
