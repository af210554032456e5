"""The desk: the bridge workers' web inbox, served by ``wegwijs serve`` under ``/desk``.

Plain server-rendered pages (Jinja2, autoescaped), forms that work without JavaScript, and a
small script (``static/desk.js``) that polls for what changed, shows it without a reload, and
raises a browser notification. Every action goes through the same :class:`HandoffDesk` as the
Telegram staff group, so each place shows what the other did.

Every route that names a handoff checks that the signed-in worker may see it
(:mod:`bot.desk.access`); every form carries the session's CSRF token; every page view of a
conversation and every file opened is written to the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.channels.media import FileFetcher
from bot.desk import access, views
from bot.desk.auth import (
    COOKIE,
    AuditLog,
    DeskSettings,
    Passwords,
    Session,
    Sessions,
    Throttle,
    expired,
    same,
)
from bot.desk.forms import MAX_FORM, MultiDict, check_registration, read_form
from bot.desk.network import NetworkPages
from bot.desk.pages import PREFIX, PageData
from bot.desk.reads import ReadMarks
from bot.desk.upload import READ_AT_MOST, FormRefused, drain, read_reply_form
from bot.handoff.desk import HandoffDesk
from bot.handoff.registrations import (
    CONTACT_TYPES,
    OUTCOMES,
    THEMES,
    NewRegistration,
    RegistrationStore,
)
from bot.handoff.store import Handoff
from bot.handoff.workers import BridgeWorker

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
MAX_REPLY = 8000
MAX_NOTE = 4000
NOTICES = {
    "picked": "De vraag staat nu op jouw naam. Wat je schrijft, gaat naar de ouder.",
    "sent": "Verstuurd.",
    "noted": "Notitie bewaard. De ouder ziet ze niet.",
    "transferred": "Doorgegeven.",
    "closed": "Afgesloten en geregistreerd. Dank je!",
    "registered": "Geregistreerd. Dank je!",
    "reopened": "De vraag is weer open, op jouw naam.",
    "done": "Opvolging afgevinkt.",
    "signed_out": "Je bent afgemeld.",
    "signal": "Signaal bewaard. De coördinator neemt het mee naar de werkgroep.",
    "signal_moved": "Status van het signaal aangepast.",
}
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; media-src 'self'; script-src 'self'; "
        b"style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),  # a shared school PC keeps no transcript in its cache
]
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf")

Handler = Callable[[Request, BridgeWorker, Session], Awaitable[Response]]


class SecurityHeaders:
    """Adds the desk's security headers to every response it sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(target: str | None) -> str:
    """Only back into the desk: never an open redirect."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//"):
        return target
    return PREFIX + "/"


class DeskWeb(PageData):
    def __init__(
        self,
        desk: HandoffDesk,
        *,
        settings: DeskSettings | None = None,
        services: Callable[[], list[tuple[str, str]]] = list,
        schools: Callable[[], list[tuple[str, str]]] = list,
        retention_days: int = 30,
        passwords: Passwords | None = None,
    ) -> None:
        self.desk = desk
        self.state = desk.state
        self.settings = settings or DeskSettings.from_env()
        self.services = services
        self.schools = schools
        self.retention_days = retention_days
        self.fetchers: dict[str, FileFetcher] = {"desk": desk.files.fetch}
        # WhatsApp's 24-hour window is shown by the bot's one clock, which the WhatsApp channel
        # decides it by too, so the page says exactly what the channel will do.
        self.window_clock: Callable[[], float] = lambda: self.now().timestamp()
        desk.files.limit = self.settings.max_upload
        self.passwords = passwords or Passwords(self.state)
        self.sessions = Sessions(self.state, self.settings.secret)
        self.throttle = Throttle(self.state)
        self.audit = AuditLog(self.state)
        self.reads = ReadMarks(self.state)
        self.registrations = RegistrationStore(self.state)
        self.network = NetworkPages(self)
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = lambda moment: views.when(moment, self.now())
        self.env.filters["day"] = views.day
        self.env.globals.update(
            prefix=PREFIX, THEMES=THEMES, CONTACT_TYPES=CONTACT_TYPES, OUTCOMES=OUTCOMES
        )

    # -- plumbing ----------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        page, act = self._page, self._action
        inner: list[BaseRoute] = [
            Route("/", page(self.home), methods=["GET"]),
            Route("/lists", page(self.lists_fragment, touch=False), methods=["GET"]),
            Route("/closed", page(self.closed_page), methods=["GET"]),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", act(self.logout), methods=["POST"]),
            Route("/poll", self.poll, methods=["GET"]),
            Route("/register", page(self.register_form), methods=["GET"]),
            Route("/register", act(self.register_direct), methods=["POST"]),
            Route("/followups/{reg_id:int}/done", act(self.follow_up_done), methods=["POST"]),
            Route("/h/{handoff_id:int}", page(self.handoff_page), methods=["GET"]),
            Route(
                "/h/{handoff_id:int}/messages",
                page(self.messages_fragment, touch=False),
                methods=["GET"],
            ),
            Route("/h/{handoff_id:int}/file/{said:int}", page(self.file), methods=["GET"]),
            Route("/h/{handoff_id:int}/pickup", act(self.pick_up), methods=["POST"]),
            Route("/h/{handoff_id:int}/reply", self.reply, methods=["POST"]),
            Route("/h/{handoff_id:int}/note", act(self.note), methods=["POST"]),
            Route("/h/{handoff_id:int}/transfer", act(self.transfer), methods=["POST"]),
            Route("/h/{handoff_id:int}/close", act(self.close), methods=["POST"]),
            Route("/h/{handoff_id:int}/register", act(self.register_handoff), methods=["POST"]),
            Route("/h/{handoff_id:int}/reopen", act(self.reopen), methods=["POST"]),
            *self.network.routes(),
            Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        ]
        from starlette.routing import Router

        return [
            Route(PREFIX, lambda request: RedirectResponse(PREFIX + "/", 308)),
            Mount(PREFIX, app=SecurityHeaders(Router(routes=inner))),
        ]

    def render(
        self,
        name: str,
        request: Request,
        status: int = 200,
        worker: BridgeWorker | None = None,
        session: Session | None = None,
        **context: Any,
    ) -> HTMLResponse:
        notice = NOTICES.get(request.query_params.get("m", ""))
        html = self.env.get_template(name).render(
            worker=worker,
            csrf=session.csrf if session else "",
            poll_seconds=self.settings.poll_seconds,
            cursor=self.desk.events.latest(),
            notice=context.pop("notice", None) or notice,
            path=request.url.path,
            max_upload=self.settings.max_upload,
            max_upload_mb=self.settings.max_upload // (1024 * 1024),
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def _secure(self, request: Request) -> bool:
        if self.settings.secure_cookie is not None:
            return self.settings.secure_cookie
        return request.url.scheme == "https"

    def _signed_out(self, request: Request, why: str, *, page: bool) -> Response:
        target = request.url.path
        if request.method == "GET" and page and not target.endswith(("/messages", "/lists")):
            if request.url.query:
                target += "?" + request.url.query
            return RedirectResponse(
                f"{PREFIX}/login?why={why}&next={quote(target)}", status_code=303
            )
        if "/h/" in target:
            back = target.rsplit("/", 1)[0]  # the handoff's page, where the draft waits
        else:
            back = target if target == PREFIX + "/register" else PREFIX + "/"
        response = self._login_page(request, why=why, next_url=back, status=401)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    def _session(self, request: Request, *, touch: bool) -> tuple[BridgeWorker, Session] | str:
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            return "signed_out" if COOKIE not in request.cookies else "expired"
        now = self.now()
        if expired(session, now, self.settings):
            self.sessions.end(session)
            return "expired"
        worker = self.team.get(session.worker)
        if worker is None:  # set inactive (or gone from the file) since signing in
            self.sessions.end_all(session.worker)
            self.audit.add(session.worker, "refused", now, detail="inactive")
            return "no_access"
        if touch:
            self.sessions.touch(session, now)
        return worker, session

    def _page(
        self, handler: Handler, *, touch: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            found = self._session(request, touch=touch)
            if isinstance(found, str):
                return self._signed_out(request, found, page=True)
            return await handler(request, *found)

        return endpoint

    def _action(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A form post: signed in, same origin, the session's CSRF token, a bounded body."""

        async def endpoint(request: Request) -> Response:
            found = self._session(request, touch=True)
            if isinstance(found, str):
                await drain(request, MAX_FORM)
                return self._signed_out(request, found, page=False)
            worker, session = found
            if not self._same_origin(request):
                return self._refused(request, worker, "origin")
            form = await read_form(request)
            if form is None:
                return self._error(request, worker, session, 413, "Dit formulier is te groot.")
            if not same(form.get("csrf"), session.csrf):
                return self._refused(request, worker, "csrf")
            request.state.form = form
            return await handler(request, worker, session)

        return endpoint

    @staticmethod
    def _same_origin(request: Request) -> bool:
        """A browser names the page a form came from; it must be the desk's own host. (The
        scheme is not compared: behind a proxy the bot may see http while the browser used
        https.)"""
        origin = request.headers.get("origin")
        if origin is None:
            return True  # not sent by every browser for same-origin posts; the token decides
        return urlsplit(origin).netloc == request.url.netloc

    def _refused(
        self, request: Request, worker: BridgeWorker, why: str, handoff_id: int | None = None
    ) -> Response:
        self.audit.add(worker.key, "refused", self.now(), handoff_id, f"{request.method} {why}")
        texts = {
            "origin": "Dit formulier kwam niet van de desk zelf en is genegeerd.",
            "csrf": "Dit formulier is verlopen of niet van jou. Laad de pagina opnieuw en probeer nog eens.",
            "team": "Deze vraag hoort niet bij jouw team. Je kan ze niet openen.",
            "not_yours": "Dit kan alleen wie de vraag heeft, of de coördinator.",
            "coordinator": "Dit kan alleen de coördinator.",
        }
        return self._error(request, worker, None, 403, texts.get(why, "Dit mag niet."))

    def _error(
        self,
        request: Request,
        worker: BridgeWorker | None,
        session: Session | None,
        status: int,
        text: str,
    ) -> HTMLResponse:
        return self.render("error.html", request, status, worker, session, message=text)

    def _handoff(self, request: Request, worker: BridgeWorker) -> Handoff | Response:
        handoff_id = int(request.path_params["handoff_id"])
        handoff = self.desk.store.get(handoff_id)
        if handoff is None:
            return self._error(
                request, worker, None, 404, f"Vraag #{handoff_id} bestaat niet (meer)."
            )
        if not access.can_see(worker, handoff):
            return self._refused(request, worker, "team", handoff_id)
        return handoff

    # -- signing in ----------------------------------------------------------------------------

    def _login_page(
        self,
        request: Request,
        *,
        why: str = "",
        next_url: str = "",
        status: int = 200,
        error: str = "",
        login: str = "",
    ) -> HTMLResponse:
        reasons = {
            "expired": "Je sessie is verlopen. Meld je opnieuw aan; wat je aan het typen was, "
            "staat er daarna nog.",
            "no_access": "Je hebt geen toegang (meer) tot de desk. Vraag het de coördinator.",
            "signed_out": "",
        }
        token = self.sessions.signer.sign(_random()).decode()
        response = self.render(
            "login.html",
            request,
            status,
            notice=reasons.get(why, "") or None,
            error=error,
            next_url=_safe_next(next_url or request.query_params.get("next")),
            login=login,
            login_csrf=token,
        )
        response.set_cookie(
            "wegwijs_desk_login",
            token,
            httponly=True,
            samesite="strict",
            path=PREFIX,
            secure=self._secure(request),
        )
        return response

    async def login_form(self, request: Request) -> Response:
        return self._login_page(request, why=request.query_params.get("why", ""))

    async def login(self, request: Request) -> Response:
        form = await read_form(request)
        if form is None:
            return self._login_page(request, status=413, error="Dit formulier is te groot.")
        login = form.get("login").strip().lower()[:40]
        next_url = form.get("next")
        token = request.cookies.get("wegwijs_desk_login", "")
        if not token or not same(form.get("csrf"), token) or self.sessions.unsign(token) is None:
            return self._login_page(
                request,
                status=400,
                next_url=next_url,
                login=login,
                error="Dit aanmeldformulier is verlopen. Probeer het nog eens.",
            )
        now = self.now()
        address = _address(request)
        wait = self.throttle.wait(login, address, now)
        if wait is not None:
            self.audit.add(login or "?", "sign_in_throttled", now, detail=address)
            minutes = max(1, int(wait.total_seconds() // 60) + 1)
            return self._login_page(
                request,
                status=429,
                next_url=next_url,
                login=login,
                error=f"Te veel mislukte pogingen. Probeer het over {minutes} minuten opnieuw.",
            )
        password = form.get("password")
        worker = self.team.get(login)
        ok = await asyncio.to_thread(self.passwords.check, login, password[:1024], now)
        if not ok or worker is None:
            self.throttle.failed(login, address, now)
            self.audit.add(login or "?", "sign_in_failed", now, detail=address)
            return self._login_page(
                request,
                status=401,
                next_url=next_url,
                login=login,
                error="Naam of wachtwoord klopt niet.",
            )
        self.throttle.succeeded(login)
        cookie, _ = self.sessions.create(worker.key, now)
        self.audit.add(worker.key, "sign_in", now, detail=address)
        response = RedirectResponse(_safe_next(next_url), status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(self.settings.lifetime.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
            path=PREFIX,
        )
        response.delete_cookie("wegwijs_desk_login", path=PREFIX)
        return response

    async def logout(self, request: Request, worker: BridgeWorker, session: Session) -> Response:
        self.sessions.end(session)
        self.audit.add(worker.key, "sign_out", self.now())
        response = RedirectResponse(f"{PREFIX}/login?m=signed_out", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    # -- lists ---------------------------------------------------------------------------------

    async def home(self, request: Request, worker: BridgeWorker, session: Session) -> Response:
        return self.render("home.html", request, 200, worker, session, **self._lists(worker))

    async def lists_fragment(
        self, request: Request, worker: BridgeWorker, session: Session
    ) -> Response:
        return self.render("_lists.html", request, 200, worker, session, **self._lists(worker))

    async def closed_page(
        self, request: Request, worker: BridgeWorker, session: Session
    ) -> Response:
        closed = self.desk.store.listing(status=("closed",), limit=300)
        visible = [h for h in closed if access.can_see(worker, h)]
        return self.render(
            "closed.html", request, 200, worker, session, closed=self._rows(worker, visible)
        )

    # -- live updates --------------------------------------------------------------------------

    async def poll(self, request: Request) -> Response:
        """What changed since ``after`` that this worker may see (never content). Polling does
        not keep a session alive: a desk left open on a shared PC still signs out."""
        found = self._session(request, touch=False)
        if isinstance(found, str):
            return JSONResponse({"expired": True, "why": found}, status_code=401)
        worker, _ = found
        try:
            after = max(0, int(request.query_params.get("after", "0")))
        except ValueError:
            after = 0
        events = self.desk.events.since(after, limit=200)
        handoffs = {
            h.id: h
            for h in self.desk.store.by_ids(sorted({e.handoff_id for e in events if e.handoff_id}))
        }
        items: list[dict[str, object]] = []
        for event in events:
            handoff = handoffs.get(event.handoff_id or 0)
            if handoff is None or not access.can_see(worker, handoff):
                # Something changed that this worker may not see (a question a colleague of
                # another team picked up): the lists refresh, nothing more is said.
                if not items or items[-1]["kind"] != "changed":
                    items.append(
                        {
                            "id": event.id,
                            "handoff": None,
                            "kind": "changed",
                            "title": "",
                            "notify": False,
                        }
                    )
                continue
            title, notify = self._describe(event.kind, event.worker, handoff, worker)
            items.append(
                {
                    "id": event.id,
                    "handoff": handoff.id,
                    "kind": event.kind,
                    "title": title,
                    "notify": notify,
                }
            )
        mine = self.desk.store.listing(status=("active",), worker=worker.key)
        ids = [h.id for h in mine]
        last = self.desk.store.last_parent_message(ids)
        seen = self.reads.marks(worker.key, ids)
        unread = sum(1 for i in ids if last.get(i, 0) > seen.get(i, 0))
        waiting = len(self.desk.store.listing(status=("waiting",)))
        return JSONResponse(
            {
                "after": events[-1].id if events else after,
                "events": items,
                "unread": unread,
                "waiting": waiting,
            }
        )

    # -- one handoff ---------------------------------------------------------------------------

    def _show(
        self,
        request: Request,
        worker: BridgeWorker,
        session: Session,
        handoff: Handoff,
        status: int = 200,
        **extra: Any,
    ) -> Response:
        context = self._handoff_context(handoff, worker)
        context.update(extra)
        messages = context["messages"]
        if messages:
            self.reads.seen(worker.key, handoff.id, int(messages[-1]["id"]))  # type: ignore[call-overload]
        return self.render("handoff.html", request, status, worker, session, **context)

    async def handoff_page(
        self, request: Request, worker: BridgeWorker, session: Session
    ) -> Response:
        handoff = self._handoff(request, worker)
        if isinstance(handoff, Response):
            return handoff
        self.audit.add(worker.key, "view", self.now(), handoff.id)
        return self._show(request, worker, session, handoff)

    async def messages_fragment(
        self, request: Request, worker: BridgeWorker, session: Session
    ) -> Response:
        handoff = self._handoff(request, worker)
        if isinstance(handoff, Response):
            return handoff
        try:
            after = max(0, int(request.query_params.get("after", "0")))
        except ValueError:
            after = 0
        messages = self._messages(handoff, after)
        if messages:
            self.audit.add(worker.key, "view_new", self.now(), handoff.id)
            self.reads.seen(worker.key, handoff.id, int(messages[-1]["id"]))  # type: ignore[call-overload]
        return self.render(
            "_messages.html", request, 200, worker, session, messages=messages, h=handoff
        )

    async def file(self, request: Request, worker: BridgeWorker, session: Session) -> Response:
        handoff = self._handoff(request, worker)
        if isinstance(handoff, Response):
            return handoff
        said = self.desk.store.message(handoff.id, int(request.path_params["said"]))
        if said is None or said.media is None:
            return self._error(request, worker, session, 404, "Dit bestand bestaat niet (meer).")
        fetch = self.fetchers.get(said.media.channel)
        if fetch is None:
            return self._error(
                request,
                worker,
                session,
                503,
                f"Bestanden van {said.media.channel} kunnen nu niet getoond worden: dat kanaal draait niet.",
            )
        self.audit.add(worker.key, "file", self.now(), handoff.id)
        try:
            found = await fetch(said.media)
        except Exception as error:
            log.warning("desk: a file could not be fetched (%s)", type(error).__name__)
            return self._error(
                request,
                worker,
                session,
                502,
                "Dit bestand kon niet opgehaald worden (het platform gaf het niet, of het is "
                "te groot). Vraag de ouder om het opnieuw te sturen.",
            )
        inline = found.mime_type in INLINE_TYPES or found.mime_type.startswith("audio/")
        disposition = "inline" if inline else "attachment"
        name = quote(found.file_name)
        return Response(
            found.content,
            media_type=found.mime_type if inline else "application/octet-stream",
            headers={
                "content-disposition": f"{disposition}; filename*=UTF-8''{name}",
                "content-security-policy": "sandbox; default-src 'none'",
            },
        )

    # -- acting on a handoff -------------------------------------------------------------------

    def _done(self, handoff_id: int, code: str) -> Response:
        return RedirectResponse(f"{PREFIX}/h/{handoff_id}?m={code}", status_code=303)

    async def pick_up(self, request: Request, worker: BridgeWorker, session: Session) -> Response:
        handoff = self._handoff(request, worker)
        if isinstance(handoff, Response):
            return handoff
        answer = self.desk.pick_up(handoff.id, worker, via="desk")
        if answer.ok:
            return self._done(handoff.id, "picked")
        fresh = self.desk.store.get(handoff.id) or handoff
        if not access.can_see(worker, fresh):
            return self._error(request, worker, session, 409, answer.notice or "")
        return self._show(
            request, worker, session, fresh, 409, notice=answer.notice, notice_bad=True
        )

    async def reply(self, request: Request) -> Response:
        """Text and/or a file for the parent (multipart, streamed to disk with a limit)."""
        found = self._session(request, touch=True)
        if isinstance(found, str):
            await drain(request, READ_AT_MOST)
            return self._signed_out(request, found, page=False)
        worker, session = found
        if not self._same_origin(request):
            await drain(request, READ_AT_MOST)
            return self._refused(request, worker, "origin")
        handoff = self._handoff(request, worker)
        if isinstance(handoff, Response):
            await drain(request, READ_AT_MOST)
            return handoff
        files = self.desk.files
        try:
            form = await read_reply_form(request, files, lambda token: same(token, session.csrf))
        except FormRefused as refused:
            if refused.reason == "csrf":
                return self._refused(request, worker, "csrf", handoff.id)
            if refused.reason == "too_large":
                return self._show(
                    request,
                    worker,
                    session,
                    handoff,
                    413,
                    notice_bad=True,
                    form={"text": refused.fields.get("text", "")},
                    notice=(
                        "Dit bestand is veel te groot; het maximum is "
                        f"{self.settings.max_upload // 2**20} MB. Er is niets verstuurd; je "
                        "tekst staat hieronder nog."
                    ),
                )
            return self._show(
                request,
                worker,
                session,
                handoff,
                400,
                notice_bad=True,
                notice="Dit formulier kon niet gelezen worden. Probeer het opnieuw.",
            )
        try:
            if not same(form.fields.get("csrf", ""), session.csrf):
                return self._refused(request, worker, "csrf", handoff.id)
            text = form.fields.get("text", "").replace("\r\n", "\n").strip()
            keep = {"text": form.fields.get("text", "")}
            if form.too_large:
                size = form.file_size / 2**20
                return self._show(
                    request,
                    worker,
                    session,
                    handoff,
                    413,
                    form=keep,
                    notice_bad=True,
                    notice=(
                        f"Je bestand is te groot ({size:.0f} MB); het maximum is "
                        f"{self.settings.max_upload // 2**20} MB. Er is niets verstuurd; je tekst "
                        "staat hieronder nog. Stuur een kleinere foto of pdf."
                    ),
                )
            if len(text) > MAX_REPLY:
                return self._show(
                    request,
                    worker,
                    session,
                    handoff,
                    400,
                    form=keep,
                    notice_bad=True,
                    notice=f"Je bericht is te lang ({len(text)} tekens; het maximum is {MAX_REPLY}). Verdeel het in twee berichten.",
                )
            if not text and form.upload is None:
                return self._show(
                    request,
                    worker,
                    session,
                    handoff,
                    400,
                    notice_bad=True,
                    notice="Schrijf een bericht of kies een bestand.",
                )
            if not access.may_write(worker, handoff):
                answer = self.desk.reply(handoff.id, worker, text)  # the desk says why not
                return self._show(
                    request,
                    worker,
                    session,
                    handoff,
                    409,
                    form=keep,
                    notice=answer.notice,
                    notice_bad=True,
                )
            media = None
            if form.upload is not None:
                stored = form.upload.commit(
                    handoff.id, form.file_name, form.content_type, self.now()
                )
                media = stored.ref()
            answer = self.desk.reply(handoff.id, worker, text, media)
            if not answer.ok:
                return self._show(
                    request,
                    worker,
                    session,
                    handoff,
                    409,
                    form=keep,
                    notice=answer.notice,
                    notice_bad=True,
                )
            return self._done(handoff.id, "sent")
        finally:
            form.close()

    async def note(self, request: Request, worker: BridgeWorker, session: Session) -> Response:
        handoff = self._handoff(request, worker)
        if isinstance(handoff, Response):
            return handoff
        form: MultiDict = request.state.form
        text = form.get("note").replace("\r\n", "\n").strip()
        if len(text) > MAX_NOTE:
            return self._show(
                request,
                worker,
                session,
                handoff,
                400,
                notice_bad=True,
                form={"note": text},
                notice=f"Je notitie is te lang (maximum {MAX_NOTE} tekens).",
            )
        answer = self.desk.note(handoff.id, worker, text)
        if not answer.ok:
            return self._show(
                request, worker, session, handoff, 400, notice=answer.notice, notice_bad=True
            )
        return self._done(handoff.id, "noted")

    async def transfer(self, request: Request, worker: BridgeWorker, session: Session) -> Response:
        handoff = self._handoff(request, worker)
        if isinstance(handoff, Response):
            return handoff
        if not access.may_transfer(worker, handoff):
            return self._refused(request, worker, "not_yours", handoff.id)
        form: MultiDict = request.state.form
        to = self.team.get(form.get("to"))
        note = form.get("note").strip()[:MAX_NOTE]
        answer = self.desk.transfer(handoff.id, worker, to, note)
        if not answer.ok:
            return self._show(
                request, worker, session, handoff, 409, notice=answer.notice, notice_bad=True
            )
        if to is not None and not access.can_see(
            worker, self.desk.store.get(handoff.id) or handoff
        ):
            return RedirectResponse(f"{PREFIX}/?m=transferred", status_code=303)
        return self._done(handoff.id, "transferred")

    def _check(
        self, form: MultiDict, worker: BridgeWorker, handoff: Handoff | None
    ) -> tuple[NewRegistration | None, list[str], dict[str, Any]]:
        return check_registration(
            form,
            worker,
            handoff,
            today=self.today(),
            services=self.services(),
            schools=self.schools(),
        )

    async def close(self, request: Request, worker: BridgeWorker, session: Session) -> Response:
        """Close and register in one step (a handoff closed in Telegram is registered here
        afterwards, with :meth:`register_handoff`)."""
        handoff = self._handoff(request, worker)
        if isinstance(handoff, Response):
            return handoff
        if handoff.is_open and not access.may_write(worker, handoff) and not worker.coordinator:
            return self._refused(request, worker, "not_yours", handoff.id)
        new, errors, values = self._check(request.state.form, worker, handoff)
        if new is None:
            return self._show(request, worker, session, handoff, 400, reg=values, reg_errors=errors)
        if handoff.is_open:
            answer = self.desk.close(handoff.id, worker, via="desk")
            if (
                not answer.ok
                and (fresh := self.desk.store.get(handoff.id)) is not None
                and fresh.is_open
            ):
                return self._show(
                    request,
                    worker,
                    session,
                    fresh,
                    409,
                    reg=values,
                    notice=answer.notice,
                    notice_bad=True,
                )
        elif not access.may_register(worker, handoff):
            return self._refused(request, worker, "not_yours", handoff.id)
        self.registrations.add(new, self.now())
        self.desk.events.add(handoff.id, "registered", self.now(), worker.key)
        return self._done(handoff.id, "closed")

    async def register_handoff(
        self, request: Request, worker: BridgeWorker, session: Session
    ) -> Response:
        handoff = self._handoff(request, worker)
        if isinstance(handoff, Response):
            return handoff
        if handoff.is_open or not access.may_register(worker, handoff):
            return self._refused(request, worker, "not_yours", handoff.id)
        new, errors, values = self._check(request.state.form, worker, handoff)
        if new is None:
            return self._show(request, worker, session, handoff, 400, reg=values, reg_errors=errors)
        self.registrations.add(new, self.now())
        self.desk.events.add(handoff.id, "registered", self.now(), worker.key)
        return self._done(handoff.id, "registered")

    async def reopen(self, request: Request, worker: BridgeWorker, session: Session) -> Response:
        handoff = self._handoff(request, worker)
        if isinstance(handoff, Response):
            return handoff
        if not access.may_register(worker, handoff):
            return self._refused(request, worker, "not_yours", handoff.id)
        answer = self.desk.reopen(handoff.id, worker)
        if not answer.ok:
            return self._show(
                request, worker, session, handoff, 409, notice=answer.notice, notice_bad=True
            )
        for reg in self.registrations.for_handoff(handoff.id):
            if reg.follow_up_on is not None and reg.follow_up_on <= self.today():
                self.registrations.done(reg.id, self.now())
        return self._done(handoff.id, "reopened")

    # -- contacts outside the bot --------------------------------------------------------------

    async def register_form(
        self, request: Request, worker: BridgeWorker, session: Session
    ) -> Response:
        return self.render(
            "register.html", request, 200, worker, session, **self._register_context(worker)
        )

    async def register_direct(
        self, request: Request, worker: BridgeWorker, session: Session
    ) -> Response:
        new, errors, values = self._check(request.state.form, worker, None)
        if new is None:
            context = self._register_context(worker)
            context.update(reg=values, reg_errors=errors)
            return self.render("register.html", request, 400, worker, session, **context)
        self.registrations.add(new, self.now())
        return RedirectResponse(f"{PREFIX}/register?m=registered", status_code=303)

    async def follow_up_done(
        self, request: Request, worker: BridgeWorker, session: Session
    ) -> Response:
        reg = self.registrations.get(int(request.path_params["reg_id"]))
        if reg is None or (reg.worker != worker.key and not worker.coordinator):
            return self._refused(request, worker, "not_yours")
        self.registrations.done(reg.id, self.now())
        return RedirectResponse(f"{PREFIX}/?m=done", status_code=303)


def _random() -> str:
    import secrets

    return secrets.token_urlsafe(24)
