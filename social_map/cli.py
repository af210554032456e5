"""``wegwijs map ...``: check, build and query the social map from a terminal.

Editors run ``check`` after every edit; ``build`` is what ``make map`` runs; ``find`` and
``search`` let anyone see what the bot would answer, without starting the bot.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from bot.paths import MAP_DATA_DIR, PROJECT_ROOT, map_db_path
from social_map.build import build_map
from social_map.hours import to_brussels
from social_map.loader import brussels_today, load_map
from social_map.problems import Problem
from social_map.ranking import Query
from social_map.schema import AREAS, CITY_WIDE, LANGUAGES, NEEDS
from social_map.store import MapError, ServiceMatch, SocialMap
from social_map.validators import suggest

map_group = click.Group("map", help="Check, build and query the social map.")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(problems: list[Problem], files: int) -> str:
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    if not problems:
        return f"Checked {_plural(files, 'file')}: no problems."
    return (
        f"Checked {_plural(files, 'file')}: {_plural(errors, 'error')}, "
        f"{_plural(warnings, 'warning')}."
    )


def _echo_problems(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=False)


def _when(moment: datetime, at: datetime) -> str:
    if moment.date() == at.date():
        return moment.strftime("%H:%M")
    if (moment.date() - at.date()).days < 7:
        return moment.strftime("%a %H:%M")
    return moment.strftime("%a %d %b %Y %H:%M")


def describe_hours(match: ServiceMatch, at: datetime) -> str:
    """``open now until 16:00``, ``opens Tue 09:00``, ``closed`` or ``hours unknown``."""
    if match.open_now is None:
        return "hours unknown"
    if match.open_now:
        return f"open now until {_when(match.next_change, at)}" if match.next_change else "open now"
    if match.next_change is None:
        return "closed"
    prefix = "opens today " if match.next_change.date() == at.date() else "opens "
    return prefix + _when(match.next_change, at)


def _echo_matches(matches: list[ServiceMatch], at: datetime) -> None:
    if not matches:
        click.echo("No services found.")
    for number, match in enumerate(matches, start=1):
        where = match.location_area or ", ".join(match.areas)
        click.echo(f"{number}. {match.name} [{where}{', local' if match.local else ''}]")
        if match.description:
            click.echo(f"   {match.description}")
        if match.matched:
            click.echo(f"   Matched: {', '.join(match.matched)}")
        if match.address:
            click.echo(f"   Address: {match.address}")
        if match.phones:
            click.echo(f"   Phone: {', '.join(match.phones)}")
        click.echo(f"   {describe_hours(match, at)}")


def _open_map(db: Path | None) -> SocialMap:
    path = db or map_db_path()
    try:
        return SocialMap.open(path)
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error


def _choice_check(value: str | None, allowed: tuple[str, ...], what: str, param: str) -> None:
    if value is not None and value not in allowed:
        hint = suggest(value, allowed) or f" (choose from: {', '.join(allowed)})"
        raise click.BadParameter(f'unknown {what} "{value}"{hint}', param_hint=param)


TODAY_OPTION = click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Judge how old last_verified is against this day (default: today in Leuven).",
)


@map_group.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@TODAY_OPTION
def check_command(path: Path | None, today: datetime | None) -> None:
    """Check the map files (default: social_map/data) and list every problem."""
    path = path or MAP_DATA_DIR
    try:
        result = load_map(path, today=today.date() if today else None)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from error
    _echo_problems(result.problems)
    click.echo(_summary(result.problems, len(result.files)))
    if not result.ok:
        raise SystemExit(1)


@map_group.command("build")
@click.option("--data", type=click.Path(path_type=Path), help="Map folder (social_map/data).")
@click.option("--out", type=click.Path(path_type=Path), help="Database (var/social_map.db).")
@TODAY_OPTION
def build_command(data: Path | None, out: Path | None, today: datetime | None) -> None:
    """Check the map and, when it has no errors, build the database the bot reads."""
    data = data or MAP_DATA_DIR
    out = out or map_db_path()
    try:
        result = build_map(data, out, today=today.date() if today else None)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from error
    _echo_problems(result.problems)
    if not result.built:
        kept = f"the previous database {out} was kept" if out.exists() else "nothing was built"
        click.echo(f"Build stopped: {_plural(len(result.errors), 'error')}; {kept}.")
        raise SystemExit(1)
    warnings = len(result.problems)
    note = f" ({_plural(warnings, 'warning')})" if warnings else ""
    click.echo(f"Built {out}: {_plural(result.count, 'service')}, version {result.version}{note}.")


@map_group.command("find")
@click.option("--need", required=True, help=f"One of: {', '.join(NEEDS)}.")
@click.option("--area", help=f"One of: {', '.join(AREAS)} (or {CITY_WIDE}).")
@click.option("--lang", default="nl", show_default=True, help="nl, fr, en or ar.")
@click.option("--at", "at_text", help="ISO date-time, e.g. 2026-11-20T15:45 (Brussels time).")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--text", "message", help="What the parent wrote: ranks by its words.")
@click.option("--age", type=click.IntRange(0, 120), help="The child's age in years.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--db", type=click.Path(path_type=Path), help="Database (var/social_map.db).")
def find_command(
    need: str,
    area: str | None,
    lang: str,
    at_text: str | None,
    limit: int,
    message: str | None,
    age: int | None,
    as_json: bool,
    db: Path | None,
) -> None:
    """Show the services the bot would suggest for a need (and a message), best first."""
    _choice_check(need, NEEDS, "need", "--need")
    _choice_check(area, (*AREAS, CITY_WIDE), "area", "--area")
    _choice_check(lang, LANGUAGES, "language", "--lang")
    try:
        at = to_brussels(datetime.fromisoformat(at_text) if at_text else None)
    except ValueError as error:
        raise click.BadParameter(
            f'"{at_text}" is not a date-time like 2026-11-20T15:45', param_hint="--at"
        ) from error
    with _open_map(db) as social_map:
        try:
            query = Query.from_message(message or "", age) if message or age is not None else None
            matches = social_map.find(need, area=area, lang=lang, at=at, limit=limit, query=query)
        except MapError as error:
            raise click.UsageError(str(error)) from error
    if as_json:
        click.echo(json.dumps([m.to_json() for m in matches], ensure_ascii=False, indent=2))
    else:
        _echo_matches(matches, at)


@map_group.command("search")
@click.argument("text")
@click.option("--lang", default="nl", show_default=True, help="nl, fr, en or ar.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--db", type=click.Path(path_type=Path), help="Database (var/social_map.db).")
def search_command(text: str, lang: str, limit: int, as_json: bool, db: Path | None) -> None:
    """Search names and descriptions in all languages."""
    _choice_check(lang, LANGUAGES, "language", "--lang")
    at = to_brussels()
    with _open_map(db) as social_map:
        matches = social_map.search(text, lang=lang, limit=limit, at=at)
    if as_json:
        click.echo(json.dumps([m.to_json() for m in matches], ensure_ascii=False, indent=2))
    else:
        _echo_matches(matches, at)


@map_group.command("info")
@click.option("--db", type=click.Path(path_type=Path), help="Database (var/social_map.db).")
def info_command(db: Path | None) -> None:
    """Say when the database was built, from which version, and how old its facts are."""
    with _open_map(db) as social_map:
        meta = social_map.meta()
    click.echo(f"built at:        {meta['built_at'].isoformat()}")
    click.echo(f"version:         {meta['version']}")
    click.echo(f"services:        {meta['count']}")
    oldest = meta["oldest_verified"]
    click.echo(f"oldest verified: {oldest.isoformat() if oldest else '-'}")


RELEVANCE_DIR = PROJECT_ROOT / "tests" / "data" / "relevance"
EVAL_DOC = PROJECT_ROOT / "docs" / "map-relevance.md"


@map_group.command("eval")
@click.option(
    "--set",
    "set_name",
    default="test",
    show_default=True,
    help="test (held out), dev (for tuning) or a path to a relevance file.",
)
@click.option("--e2e/--no-e2e", default=True, help="Also run end to end through real Rasa.")
@click.option("--misses", is_flag=True, help="List the misses (use on the dev set only).")
@click.option("--no-doc", is_flag=True, help=f"Print only; do not update {EVAL_DOC.name}.")
@click.option("--db", type=click.Path(path_type=Path), help="Database (var/social_map.db).")
def eval_command(set_name: str, e2e: bool, misses: bool, no_doc: bool, db: Path | None) -> None:
    """Measure the ranking: p@1 and hit@3 per language and need, given the need and end to end."""
    from social_map import evaluate

    path = Path(set_name) if set_name not in ("test", "dev") else RELEVANCE_DIR / f"{set_name}.yml"
    if not path.is_file():
        raise click.ClickException(f"no relevance set at {path}")
    items = evaluate.load_items(path)
    db = db or map_db_path()
    with _open_map(db) as social_map:
        given = evaluate.evaluate_given_need(
            social_map, items, f"Given the labelled need ({path.name})"
        )
    reports = [given]
    if e2e:
        from bot.nlu.server import RasaStartError, nlu_endpoint

        try:
            with nlu_endpoint() as url:
                reports.append(
                    evaluate.run_end_to_end(
                        db, url, items, f"End to end through the real Rasa NLU ({path.name})"
                    )
                )
        except RasaStartError as error:
            raise click.ClickException(str(error)) from error
    body = "\n\n".join(report.markdown() for report in reports)
    click.echo(body)
    if misses:
        for report in reports:
            click.echo("\n" + evaluate.misses_markdown(report))
    if not no_doc and path.parent == RELEVANCE_DIR and path.stem == "test":
        evaluate.update_doc(EVAL_DOC, body)
        click.echo(f"\nUpdated {EVAL_DOC.relative_to(PROJECT_ROOT)}", err=True)


@map_group.command("report")
@click.option("--data", type=click.Path(path_type=Path), help="Map folder (social_map/data).")
@click.option(
    "--markdown", "markdown_path", type=click.Path(path_type=Path), help="Also write it here."
)
def report_command(data: Path | None, markdown_path: Path | None) -> None:
    """Coverage for editors: per need and area, how many services and how complete they are."""
    from social_map.coverage import coverage, coverage_markdown

    data = data or MAP_DATA_DIR
    try:
        loaded = load_map(data)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from error
    table = coverage(loaded.services, today=brussels_today())
    text = coverage_markdown(table, today=brussels_today())
    click.echo(text)
    if markdown_path:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(text + "\n", encoding="utf-8")
