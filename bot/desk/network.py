"""The desk's pages for the network: the figures (for the coordinator) and the signals.

The figures page shows the same report as ``wegwijs report`` (:mod:`bot.report.render`),
counted on request from the same database, with the same suppression of small counts. Any
worker may record a signal and read the register; the coordinator moves a signal on (to the
working group, to the city, answered).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.conversation.vocabulary import AREA_LABELS
from bot.desk.auth import Session
from bot.handoff.registrations import THEMES
from bot.handoff.workers import BridgeWorker
from bot.report.figures import Filters, Period
from bot.report.render import build
from bot.report.signals import STATUSES, SignalError, Signals
from bot.report.tables import SIGNAL_STATUSES, area_label

if TYPE_CHECKING:
    from bot.desk.web import DeskWeb

PREFIX = "/desk"


class NetworkPages:
    def __init__(self, web: DeskWeb) -> None:
        self.web = web
        self.signals = Signals(web.state)

    def routes(self) -> list[BaseRoute]:
        page, act = self.web._page, self.web._action
        return [
            Route("/report", page(self.report), methods=["GET"]),
            Route("/report.csv", page(self.report_csv), methods=["GET"]),
            Route("/signals", page(self.signals_page), methods=["GET"]),
            Route("/signals", act(self.add_signal), methods=["POST"]),
            Route("/signals/{signal_id:int}/move", act(self.move_signal), methods=["POST"]),
        ]

    # -- figures ------------------------------------------------------------------------------

    def _query(self, request: Request) -> tuple[Period, Filters, list[str]]:
        """The period and filters asked for in the URL; problems in Dutch."""
        q = request.query_params
        problems: list[str] = []
        period = Period.containing(self.web.now().date())
        try:
            if q.get("from") or q.get("to"):
                period = Period.between(
                    date.fromisoformat(q.get("from", "")), date.fromisoformat(q.get("to", ""))
                )
            elif q.get("year"):
                period = Period.parse_school_year(q["year"])
        except ValueError:
            problems.append("Die periode kan ik niet lezen: kies een schooljaar of twee datums.")
        schools = {sid for sid, _ in self.web.schools()}
        school = q.get("school") or None
        area = q.get("area") or None
        if school is not None and school not in schools:
            problems.append("Die school ken ik niet.")
            school = None
        if area is not None and area not in AREA_LABELS:
            problems.append("Dat deel van Leuven ken ik niet.")
            area = None
        return period, Filters(school, area), problems

    def _build(self, request: Request):  # type: ignore[no-untyped-def]
        period, filters, problems = self._query(request)
        names = dict(self.web.services())
        schools = dict(self.web.schools())
        db, _ = self.web.state.connection
        report = build(
            db,
            self.signals,
            period,
            filters,
            made=self.web.now(),
            service_name=lambda sid: names.get(sid, sid),
            school_name=lambda sid: schools.get(sid, sid),
        )
        return report, period, filters, problems

    async def report(self, request: Request, worker: BridgeWorker, session: Session) -> Response:
        if not worker.coordinator:
            return self.web._refused(request, worker, "coordinator")
        report, period, filters, problems = self._build(request)
        self.web.audit.add(worker.key, "report", self.web.now(), detail=period.label)
        year = period.start.year
        return self.web.render(
            "report.html",
            request,
            200,
            worker,
            session,
            body=report.html(standalone=False),
            problems=problems,
            years=[f"{y}-{y + 1}" for y in range(year - 3, year + 1)],
            chosen=period.label,
            school=filters.school or "",
            area=filters.area or "",
            schools=self.web.schools(),
            areas=[(a, area_label(a)) for a in AREA_LABELS],
            csv_query=request.url.query,
        )

    async def report_csv(
        self, request: Request, worker: BridgeWorker, session: Session
    ) -> Response:
        if not worker.coordinator:
            return self.web._refused(request, worker, "coordinator")
        report, period, _, _ = self._build(request)
        self.web.audit.add(worker.key, "report", self.web.now(), detail=f"csv {period.label}")
        name = "wegwijs-" + period.label.replace(" ", "_") + ".csv"
        return Response(
            report.csv(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    # -- signals ------------------------------------------------------------------------------

    def _signals_context(self) -> dict[str, object]:
        signals = self.signals.list()
        return {
            "signals": [(s, self.signals.history(s.id)) for s in signals],
            "themes": THEMES,
            "areas": [(a, area_label(a)) for a in AREA_LABELS],
            "statuses": SIGNAL_STATUSES,
            "status_keys": STATUSES,
            "names": {w.key: w.first_name for w in self.web.team.workers},
        }

    async def signals_page(
        self, request: Request, worker: BridgeWorker, session: Session, **extra: object
    ) -> Response:
        context = self._signals_context()
        context.update(extra)
        status = 400 if extra.get("signal_error") else 200
        return self.web.render("signals.html", request, status, worker, session, **context)

    async def add_signal(
        self, request: Request, worker: BridgeWorker, session: Session
    ) -> Response:
        form = request.state.form
        values = {k: form.get(k) for k in ("title", "theme", "area", "since", "families", "detail")}
        try:
            self.signals.add(worker.key, **values)
        except SignalError as error:
            return await self.signals_page(
                request, worker, session, signal_error=str(error), draft=values
            )
        return RedirectResponse(f"{PREFIX}/signals?m=signal", status_code=303)

    async def move_signal(
        self, request: Request, worker: BridgeWorker, session: Session
    ) -> Response:
        if not worker.coordinator:
            return self.web._refused(request, worker, "coordinator")
        form = request.state.form
        signal_id = int(request.path_params["signal_id"])
        try:
            moved = self.signals.move(signal_id, worker.key, form.get("status"), form.get("note"))
        except SignalError as error:
            return await self.signals_page(request, worker, session, signal_error=str(error))
        if not moved:
            return self.web._error(request, worker, session, 404, "Dat signaal bestaat niet.")
        return RedirectResponse(f"{PREFIX}/signals?m=signal_moved", status_code=303)
