"""The report as a page (HTML with its charts) and as a table file (CSV).

``build`` is the one entry point: the command, the desk and the benchmark all call it, so all
three show the same numbers, hidden the same way.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.db import Database
from bot.report import charts
from bot.report.figures import Figures, Filters, Period, compute
from bot.report.signals import Signals
from bot.report.tables import Section, area_label, sections

_ENV = Environment(
    loader=PackageLoader("bot.report", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class Report:
    figures: Figures
    sections: list[Section]
    made: datetime
    school_name: str | None
    area_name: str | None

    def html(self, *, standalone: bool = True, with_charts: bool = True) -> str:
        shown = [
            {**vars(s), "chart_src": _data_uri(charts.draw(s)) if with_charts else ""}
            for s in self.sections
        ]
        return _ENV.get_template("report.html").render(
            standalone=standalone,
            sections=shown,
            period=self.figures.period,
            school=self.school_name,
            area=self.area_name,
            made=self.made.strftime("%d/%m/%Y %H:%M"),
        )

    def csv(self) -> str:
        """One line per shown number: section, row, column, value (the same "<5" as the page)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["section", "title", "row", "column", "value"])
        for s in self.sections:
            for row in s.rows:
                for header, value in zip(s.headers[1:], row[1:], strict=False):
                    writer.writerow([s.key, s.title, row[0], header, value])
        writer.writerow(["period", "Periode", self.figures.period.label, "", ""])
        return out.getvalue()


def _data_uri(svg: str) -> str:
    """A chart as an image: its own styles stay inside it (an SVG put straight into the page
    would lend them to the page, and the desk's content policy forbids inline styles)."""
    if not svg:
        return ""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def build(
    db: Database,
    signals: Signals,
    period: Period,
    filters: Filters,
    *,
    made: datetime,
    service_name: Callable[[str], str],
    school_name: Callable[[str], str],
) -> Report:
    figures = compute(db, period, filters)
    shown = sections(
        figures,
        service_name=service_name,
        school_name=lambda sid: school_name(sid) if sid else "geen school (of onbekend)",
        signals=[s.as_row() for s in signals.list(open_only=True)],
    )
    return Report(
        figures,
        shown,
        made,
        school_name(filters.school) if filters.school else None,
        area_label(filters.area) if filters.area else None,
    )
