"""``wegwijs serve``: every configured channel, the outbox senders, the handoff timer and the
ASGI app (``/healthz``, webhooks, the bridge workers' desk under ``/desk``), in one process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.app import Wegwijs
from bot.channels.telegram.config import TelegramConfig
from bot.channels.whatsapp.config import WhatsAppConfig
from bot.desk.auth import DeskSettings
from bot.handoff.outbox import Deliver, Item
from bot.replicas.jobs import Jobs
from bot.retention import PURGE_EVERY
from bot.web.guard import BodyGuard
from bot.web.limits import DESK_UPLOAD_TIMEOUT, desk_form_cap
from bot.web.tally import Tally

log = logging.getLogger(__name__)
TICK_EVERY = 30.0  # seconds between checks for handoffs to announce again or escalate
CHECKBACK_EVERY = 60.0  # seconds between looks for check-back questions that are due
# At a stop: seconds the outbox goes on sending what is due (a send under way always ends),
# and the most any send under way may take after that before it is cut off.
SEND_AT_STOP = 5.0
SEND_CUT_OFF = 15.0


class BotServer:
    def __init__(
        self,
        app: Wegwijs,
        telegram: TelegramConfig | None = None,
        whatsapp: WhatsAppConfig | None = None,
        *,
        tick_every: float = TICK_EVERY,
        outbox_idle: float = 1.0,
        purge_every: float = PURGE_EVERY,
        checkback_every: float = CHECKBACK_EVERY,
        desk: DeskSettings | None = None,
    ) -> None:
        from bot.channels.telegram.channel import TelegramChannel
        from bot.channels.whatsapp.channel import WhatsAppChannel
        from bot.desk.web import DeskWeb

        self.app = app
        self.tally = Tally()  # refused and abandoned requests, for the log and /healthz
        self.telegram = TelegramChannel(telegram, app, self.tally) if telegram else None
        self.whatsapp = WhatsAppChannel(whatsapp, app, tally=self.tally) if whatsapp else None
        self.tick_every = tick_every
        self.outbox_idle = outbox_idle
        self.purge_every = purge_every
        self.checkback_every = checkback_every
        self.parent_senders: dict[str, Deliver] = {}
        if self.telegram is not None:
            self.parent_senders["telegram"] = self.telegram.deliver_to_parent
        if self.whatsapp is not None:
            self.parent_senders["whatsapp"] = self.whatsapp.deliver_to_parent
        if self.telegram is not None and self.whatsapp is not None:
            # Files cross over: a parent's WhatsApp photo to the staff group, a worker's
            # Telegram document to a parent on WhatsApp.
            if self.telegram.staff is not None:
                self.telegram.staff.files["whatsapp"] = self.whatsapp.fetch_file
            self.whatsapp.files["telegram"] = self.telegram.fetch_file
        # The desk: the same handoffs in the browser. A worker's upload is a file of its own
        # source ("desk") that every channel fetches; parents' files are shown through the
        # channel they came from.
        maps = app.maps
        self.desk = DeskWeb(
            app.desk,
            settings=desk,
            services=lambda: maps.current().services(),
            schools=lambda: sorted(maps.current().schools(), key=lambda s: s[1]),
            retention_days=app.retention.days,
        )
        desk_files = app.desk.files.fetch
        if self.telegram is not None:
            self.telegram.files["desk"] = desk_files
            self.desk.fetchers["telegram"] = self.telegram.fetch_file
            if self.telegram.staff is not None:
                self.telegram.staff.files["desk"] = desk_files
        if self.whatsapp is not None:
            self.whatsapp.files["desk"] = desk_files
            self.desk.fetchers["whatsapp"] = self.whatsapp.fetch_file
        self._lanes: list[asyncio.Task[None]] = []  # the outbox's senders
        self._jobs: list[asyncio.Task[None]] = []  # the periodic jobs
        # Several replicas (bot/replicas): the claims of this one, kept alive by its heartbeat
        # until the very end of a stop.
        self.claims = app.router.claims
        self.jobs = Jobs(self.claims)
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def channels(self) -> list[str]:
        return list(self.parent_senders)

    async def start(self) -> None:
        # Claims under this replica's name are a killed predecessor's: its work is done now.
        self.claims.forget_previous_life()
        self._heartbeat = asyncio.create_task(self._beat())
        # First what a previous run took in but did not answer (it was killed mid-way).
        await self.app.router.replay()
        if self.telegram is not None:
            await self.telegram.start()
        if self.whatsapp is not None:
            await self.whatsapp.start()
        outbox = self.app.desk.outbox
        self._lanes.append(
            asyncio.create_task(outbox.run("parent", self._to_parent, self.outbox_idle))
        )
        self._jobs.append(
            # wait first: wegwijs() purged at start-up already
            asyncio.create_task(
                self._every(self.purge_every, self.app.purge, "retention purge", wait_first=True)
            )
        )
        self._jobs.append(
            asyncio.create_task(
                self._every(self.checkback_every, self.app.ask_checkbacks, "check-backs")
            )
        )
        if self.telegram is not None and self.telegram.staff is not None:
            self._lanes.append(
                asyncio.create_task(
                    outbox.run("staff", self.telegram.deliver_to_staff, self.outbox_idle)
                )
            )
        # Re-announce and escalate: in the staff group when there is one, always in the desk.
        self._jobs.append(
            asyncio.create_task(self._every(self.tick_every, self.app.desk.tick, "handoff timer"))
        )
        # What another replica took in and did not finish (it died), or a lost wake-up.
        self._jobs.append(asyncio.create_task(self._sweep()))

    async def stop(self) -> None:
        """In order: the periodic jobs; the channels take nothing new and finish what they
        took in (the web server has stopped before this); the outbox finishes its sends (see
        :meth:`Outbox.stop`); then the channels' connections close. Whatever is left is on
        disk (the inbox, the outbox) for the next start."""
        await _cancel(self._jobs)
        if self.telegram is not None:
            await self.telegram.stop_receiving()
        outbox = self.app.desk.outbox
        if self._lanes:
            outbox.stop(SEND_AT_STOP)
            _, late = await asyncio.wait(self._lanes, timeout=SEND_AT_STOP + SEND_CUT_OFF)
            if late:
                log.warning("outbox: a send took too long at the stop; it is retried at the start")
            await _cancel(self._lanes)
        with suppress(Exception):  # the state database may be gone already (a test, a crash)
            if waiting := outbox.count_pending():
                log.info("outbox: %d message(s) wait to be sent at the next start", waiting)
        if self._heartbeat is not None:
            await _cancel([self._heartbeat])
            self._heartbeat = None
        with suppress(Exception):  # the other replicas take over what this one held, at once
            self.claims.give_back_all()
        if self.telegram is not None:
            await self.telegram.close()
        if self.whatsapp is not None:
            await self.whatsapp.stop()
        self.tally.flush()

    async def __aenter__(self) -> BotServer:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def _to_parent(self, items: list[Item]) -> int:
        channel = items[0].payload.get("channel", "")
        sender = self.parent_senders.get(channel)
        if sender is None:  # e.g. the WhatsApp token was removed: keep it until it is back
            raise RuntimeError(f"channel {channel!r} is not running")
        return await sender(items)

    async def _every(
        self, seconds: float, job: Callable[[], object], what: str, *, wait_first: bool = False
    ) -> None:
        """Run ``job`` every ``seconds`` (now first, unless ``wait_first``), on one replica
        at a time (:mod:`bot.replicas.jobs`); a failure is logged, never fatal."""
        await self.jobs.every(seconds, job, what, wait_first=wait_first)

    async def _beat(self) -> None:
        """The heartbeat: this replica's claims live on while it does."""
        every = self.claims.ttl.total_seconds() / 3
        while True:
            try:
                self.claims.renew_mine()
            except Exception as error:
                log.error("heartbeat: %s", type(error).__name__)
            await asyncio.sleep(every)

    async def _sweep(self) -> None:
        """Pick up what nobody works on: parents' messages and Telegram updates taken in by a
        replica that died (its claims expired), or whose wake-up was lost."""
        every = self.claims.ttl.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                if self.telegram is not None:
                    await self.telegram.inbox.replay()
                await self.app.router.replay()
            except Exception as error:
                log.error("sweep: %s", type(error).__name__)

    # -- HTTP --------------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """``ok`` means parents are being served: the databases answer and every channel runs.
        Rasa being down does not make it false (parents then get the menu), only ``degraded``."""
        channels: dict[str, Any] = {}
        if self.telegram is not None:
            channels["telegram"] = self.telegram.health()
        if self.whatsapp is not None:
            channels["whatsapp"] = self.whatsapp.health()
        nlu = await self.app.nlu.status() if self.app.nlu else {"ok": False, "error": "not set"}
        database = self._database()
        return {
            "ok": bool(database["ok"]) and all(c.get("running") for c in channels.values()),
            "degraded": not nlu["ok"],
            "nlu": nlu,
            "database": database,
            "channels": channels,
            "http": {"refused": dict(sorted(self.tally.totals.items()))},
        }

    def _database(self) -> dict[str, Any]:
        outbox = self.app.desk.outbox
        try:
            meta = self.app.maps.current().meta()
            oldest = outbox.oldest_pending()
            report = {
                "ok": True,
                "map": {
                    "services": meta["count"],
                    "built_at": meta["built_at"].isoformat(timespec="seconds"),
                },
                "outbox": {
                    "pending": outbox.count_pending(),
                    "held": outbox.count_held(),
                    "resent_after_crash": outbox.resent_after_crash,
                    "oldest_pending_s": round((self.app.clock() - oldest).total_seconds())
                    if oldest
                    else 0,
                },
                # Taken in, not yet handled: parents' messages, and Telegram updates.
                "inbox": {"pending": self._inbox_pending()},
                # This replica: its name in claims, the periodic jobs it runs (and how often).
                "replica": {
                    "name": self.claims.owner,
                    "jobs": self.jobs.held(),
                    "runs": dict(sorted(self.jobs.runs.items())),
                },
            }
        except Exception as error:  # a locked, corrupt or missing database
            log.error("health check: database %s", type(error).__name__)
            return {"ok": False, "error": type(error).__name__}
        return report

    def _inbox_pending(self) -> int:
        pending = self.app.state.unhandled_count()
        if self.telegram is not None:
            pending += self.telegram.inbox.waiting()
        return pending

    async def _healthz(self, request: Request) -> JSONResponse:
        report = await self.health()
        return JSONResponse(report, status_code=200 if report["ok"] else 503)

    def asgi(self) -> Starlette:
        """The routes, behind :class:`BodyGuard`: each webhook reads at most its channel's
        ``MAX_BODY``, the desk's forms its upload limit (streamed to disk), any other route a
        small default."""
        routes: list[BaseRoute] = [Route("/healthz", self._healthz, methods=["GET"])]
        limits: dict[str, int] = {}
        if self.telegram is not None and self.telegram.config.webhook_url:
            from bot.channels.telegram.channel import MAX_BODY, WEBHOOK_PATH

            routes.append(Route(WEBHOOK_PATH, self.telegram.webhook, methods=["POST"]))
            limits[WEBHOOK_PATH] = MAX_BODY
        if self.whatsapp is not None:
            from bot.channels.whatsapp.channel import MAX_BODY as WHATSAPP_MAX_BODY
            from bot.channels.whatsapp.channel import WEBHOOK_PATH as WHATSAPP_PATH

            routes.append(Route(WHATSAPP_PATH, self.whatsapp.verify, methods=["GET"]))
            routes.append(Route(WHATSAPP_PATH, self.whatsapp.webhook, methods=["POST"]))
            limits[WHATSAPP_PATH] = WHATSAPP_MAX_BODY
        routes += self.desk.routes()
        desk_forms = (desk_form_cap(self.desk.settings.max_upload), DESK_UPLOAD_TIMEOUT)
        guard = Middleware(
            BodyGuard, limits=limits, tally=self.tally, streamed={"/desk/": desk_forms}
        )
        return Starlette(routes=routes, middleware=[guard])


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with suppress(asyncio.CancelledError):
            await task
    tasks.clear()
