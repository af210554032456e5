"""``wegwijs report`` (the network's figures) and ``wegwijs signal`` (the register of signals)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from bot.clock import system_clock
from bot.report.figures import Filters, Period
from bot.report.signals import STATUSES, SignalError, Signals


def _state(db: Path | None):  # type: ignore[no-untyped-def]
    from bot.conversation.state import StateStore
    from bot.db import database_target

    return StateStore(db or database_target(), system_clock)


def _names():  # type: ignore[no-untyped-def]
    """Service and school names from the social map, when it is built (ids otherwise)."""
    from bot.paths import map_db_path
    from social_map.store import SocialMap

    try:
        social_map = SocialMap.open(map_db_path())
    except Exception:  # no map built: the report still works, with ids
        return (lambda sid: sid), (lambda sid: sid)

    def name(sid: str) -> str:
        found = social_map.get(sid)
        return found.name if found else sid

    return name, name


@click.group("report", invoke_without_command=True)
@click.option("--school-year", help="e.g. 2025-2026 (September to August). Default: this one.")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day (instead).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (with --from).")
@click.option("--school", help="Only this school (its social map id).")
@click.option("--area", help="Only this part of Leuven, e.g. heverlee.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "csv", "both"]),
    default="both",
    show_default=True,
)
@click.option("--out", type=click.Path(path_type=Path), help="Folder (default var/reports).")
@click.option("--db", type=click.Path(path_type=Path), help="State database (var/state.db).")
@click.option(
    "--charts",
    type=click.Path(path_type=Path),
    help="Also write each chart as an SVG file into this folder (for documents).",
)
@click.pass_context
def report_group(
    ctx: click.Context,
    school_year: str | None,
    start: datetime | None,
    end: datetime | None,
    school: str | None,
    area: str | None,
    fmt: str,
    out: Path | None,
    db: Path | None,
    charts: Path | None,
) -> None:
    """The network's figures for a school year or dates: HTML with charts, and CSV.

    Counts from 1 to 4 are shown as "<5" everywhere. What each number means: docs/figures.md."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.conversation.vocabulary import AREA_LABELS
    from bot.paths import data_dir
    from bot.report.render import build

    now = system_clock()
    try:
        if start or end:
            if not (start and end) or school_year:
                raise click.UsageError("give --from and --to together, or --school-year")
            period = Period.between(start.date(), end.date())
        elif school_year:
            period = Period.parse_school_year(school_year)
        else:
            period = Period.containing(now.date())
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    if area and area not in AREA_LABELS:
        raise click.UsageError(f"unknown area {area!r} (choose from {', '.join(AREA_LABELS)})")
    service_name, school_name = _names()
    state = _state(db)
    try:
        db_conn, _ = state.connection
        report = build(
            db_conn,
            Signals(state),
            period,
            Filters(school, area),
            made=now,
            service_name=service_name,
            school_name=school_name,
        )
    finally:
        state.close()
    folder = out or data_dir() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    stem = (
        "wegwijs-"
        + period.label.replace(" ", "_")
        + (f"-{school}" if school else "")
        + (f"-{area}" if area else "")
    )
    written = []
    if fmt in ("html", "both"):
        path = folder / f"{stem}.html"
        path.write_text(report.html(), encoding="utf-8")
        written.append(path)
    if fmt in ("csv", "both"):
        path = folder / f"{stem}.csv"
        path.write_text(report.csv(), encoding="utf-8")
        written.append(path)
    if charts is not None:
        from bot.report.charts import draw

        charts.mkdir(parents=True, exist_ok=True)
        for section in report.sections:
            if svg := draw(section):
                path = charts / f"figures-{section.key}.svg"
                path.write_text(svg, encoding="utf-8")
                written.append(path)
    for path in written:
        click.echo(f"Wrote {path}")


@report_group.command("sample")
@click.option("--db", type=click.Path(path_type=Path), required=True, help="A NEW database file.")
@click.option("--per-year", default=400, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--years", default="2023,2024,2025", show_default=True, help="First years.")
def sample_command(db: Path, per_year: int, years: str) -> None:
    """Fill a new database with invented registrations (for docs/figures.md and benchmarks)."""
    from bot.report.sample import fill

    if db.exists():
        raise click.ClickException(f"{db} exists: the sample data goes into a new file only")
    try:
        first_years = tuple(int(y) for y in years.split(","))
    except ValueError as error:
        raise click.UsageError("--years: a list like 2023,2024,2025") from error
    state = _state(db)
    try:
        count = fill(state, first_years, per_year)
    finally:
        state.close()
    click.echo(f"Wrote {count} invented registrations to {db}")


@click.group("signal")
def signal_group() -> None:
    """The register of signals: structural problems, for the working group and the city."""


@signal_group.command("add")
@click.option("--by", required=True, help="Your id in the bridge workers file.")
@click.option("--title", required=True, help="What, in one line. No names.")
@click.option("--theme", required=True, help="A need id, listening_ear or new_parents.")
@click.option("--area", default="", help="Part of Leuven (empty: all of Leuven).")
@click.option("--since", default="", help="Since when, e.g. 2025-09.")
@click.option("--families", default="", help="About how many families.")
@click.option("--detail", default="", help="A few lines more. No names.")
@click.option("--db", type=click.Path(path_type=Path), help="State database (var/state.db).")
def signal_add(
    by: str, title: str, theme: str, area: str, since: str, families: str, detail: str, db: Path
) -> None:
    """Record a new signal."""
    state = _state(db)
    try:
        signal_id = Signals(state).add(by, title, theme, area, since, families, detail)
    except SignalError as error:
        raise click.ClickException(str(error)) from error
    finally:
        state.close()
    click.echo(f"Signal #{signal_id} recorded.")


@signal_group.command("list")
@click.option("--all", "everything", is_flag=True, help="Also the answered ones.")
@click.option("--db", type=click.Path(path_type=Path), help="State database (var/state.db).")
def signal_list(everything: bool, db: Path) -> None:
    """The open signals (with --all: every signal) and their history."""
    state = _state(db)
    try:
        signals = Signals(state)
        for s in signals.list(open_only=not everything):
            click.echo(f"#{s.id} [{s.status}] {s.title} ({s.theme}, {s.area or 'Leuven'})")
            for step in signals.history(s.id):
                note = f": {step.note}" if step.note else ""
                click.echo(f"    {step.at:%Y-%m-%d} {step.by} -> {step.status}{note}")
    finally:
        state.close()


@signal_group.command("move")
@click.argument("signal_id", type=int)
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--by", required=True, help="Your id in the bridge workers file.")
@click.option("--note", default="", help="What was decided or answered.")
@click.option("--db", type=click.Path(path_type=Path), help="State database (var/state.db).")
def signal_move(signal_id: int, status: str, by: str, note: str, db: Path) -> None:
    """Give a signal its next follow-up status."""
    state = _state(db)
    try:
        moved = Signals(state).move(signal_id, by, status, note)
    finally:
        state.close()
    if not moved:
        raise click.ClickException(f"there is no signal #{signal_id}")
    click.echo(f"Signal #{signal_id}: {status}.")
