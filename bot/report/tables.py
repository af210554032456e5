"""What the report shows: its sections as tables of text, with every small count hidden.

The HTML page, the CSV file and the desk's page are all drawn from these sections, and so are
the charts, so nothing reaches a reader without passing :mod:`bot.report.suppress` first.
Labels are in Dutch, like everything the network reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from bot.conversation.i18n import Lang
from bot.conversation.vocabulary import AREA_LABELS, NEED_LABELS
from bot.handoff.registrations import CONTACT_TYPES, OUTCOMES
from bot.handoff.staff_texts import CHANNELS, LANGUAGE_NAMES
from bot.report import suppress
from bot.report.figures import (
    REFERENCE,
    REFERENCE_SOURCE,
    THEME_ROWS,
    WAIT_BUCKETS,
    Figures,
    median_and_p90,
)
from bot.report.figures import hours as show_hours
from bot.report.suppress import HIDDEN, TOTAL, small

NL = Lang("nl")
CHECKBACK_ANSWERS = {"reached": "Bereikt", "not_yet": "Nog niet", "person": "Wil een persoon"}
HELPED = {"yes": "Het hielp", "no": "Het hielp niet"}
SIGNAL_STATUSES = {
    "new": "Nieuw",
    "working_group": "Naar de werkgroep",
    "city": "Naar de stad",
    "answered": "Beantwoord",
}


@dataclass
class Section:
    key: str  # stable id, also the CSV's first column
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""
    chart: str | None = None  # the chart's key in bot.report.charts, drawn from ``values``
    values: dict[str, object] = field(default_factory=dict)


Labeller = Callable[[str], str]


def need_label(need: str) -> str:
    return NL._(NEED_LABELS[need]) if need in NEED_LABELS else need


def area_label(area: str) -> str:
    return NL._(AREA_LABELS[area]) if area in AREA_LABELS else (area or "onbekend")


def one_way(
    key: str,
    title: str,
    counts: Counter[str],
    label: Labeller,
    *,
    header: str,
    total: str = "Totaal",
    order: list[str] | None = None,
    note: str = "",
) -> Section:
    keys = order if order is not None else sorted(counts, key=lambda k: (-counts[k], k))
    keys = [k for k in keys if counts.get(k, 0) or order is not None]
    shown = suppress.column(dict(counts), keys)
    rows = [[label(k), shown.shown(k, "n")] for k in keys]
    rows.append([total, shown.shown(TOTAL, "n")])
    section = Section(key, title, [header, "Aantal"], rows, note)
    section.values = {
        "labels": [label(k) for k in keys],
        "counts": [None if (k, "n") in shown.hidden else shown.value(k, "n") for k in keys],
    }
    return section


def two_way(
    key: str,
    title: str,
    counts: Counter[tuple[str, str]],
    row_label: Labeller,
    column_label: Labeller,
    *,
    corner: str,
    columns: list[str] | None = None,
    note: str = "",
) -> Section:
    rows_keys: list[Hashable] = sorted({r for r, _ in counts}, key=row_label)
    column_keys: list[Hashable] = columns or sorted({c for _, c in counts}, key=column_label)
    grid = suppress.table(dict(counts), rows_keys, column_keys)
    headers = [corner, *(column_label(str(c)) for c in column_keys), "Totaal"]
    rows = [
        [row_label(str(r)), *(grid.shown(r, c) for c in (*column_keys, TOTAL))]
        for r in (*rows_keys, TOTAL)
    ]
    rows[-1][0] = "Totaal"
    section = Section(key, title, headers, rows, note)
    section.values = {
        "rows": [row_label(str(r)) for r in rows_keys],
        "columns": [column_label(str(c)) for c in column_keys],
        "counts": [
            [None if (r, c) in grid.hidden else grid.value(r, c) for c in column_keys]
            for r in rows_keys
        ],
    }
    return section


def plain(count: int) -> str:
    return HIDDEN if small(count) else str(count)


def sections(
    figures: Figures,
    *,
    service_name: Labeller,
    school_name: Labeller,
    signals: list[dict[str, object]],
) -> list[Section]:
    """The report, section by section, every count already made safe to show."""
    f = figures
    out: list[Section] = []
    out.append(
        Section(
            "summary",
            "In het kort",
            ["", "Aantal"],
            [
                ["Gezinnen bereikt (eerste contact dit schooljaar)", plain(f.families)],
                ["Contacten", plain(f.contacts)],
                ["Groepsmomenten", plain(f.group_moments)],
                ["Deelnemers aan groepsmomenten", plain(f.participants)],
                ["Vragen via Wegwijs doorgegeven en afgesloten", plain(f.waits.count)],
            ],
            "Een gezin telt mee bij zijn eerste contact in het schooljaar, zoals de brugfiguur het "
            "registreerde. Aantallen van 1 tot 4 staan er als <5.",
        )
    )
    types = one_way(
        "contact_types",
        "Contacten per soort",
        f.contact_types,
        lambda k: CONTACT_TYPES.get(k, k),
        header="Soort contact",
        order=list(CONTACT_TYPES),
    )
    types.chart = "contact_types"
    out.append(types)

    theme_names = [row for row, _ in THEME_ROWS]
    themes = one_way(
        "themes",
        "Thema's",
        f.theme_rows,
        lambda k: k,
        header="Thema",
        total="Alle thema's samen",
        order=theme_names,
        note="Een contact kan meer dan één thema hebben. De rijen volgen de tabel van het "
        "netwerk, zodat ze naast de cijfers van vorige jaren passen.",
    )
    out.append(themes)
    out.append(_reference(f, themes))
    over_years = _themes_over_years(f)
    if over_years is not None:
        out.append(over_years)

    for key, title, counts, label, header in (
        ("by_school", "Contacten per school", f.by_school, school_name, "School"),
        ("by_area", "Contacten per deel van Leuven", f.by_area, area_label, "Deel van Leuven"),
        (
            "by_language",
            "Contacten per taal",
            f.by_language,
            lambda k: LANGUAGE_NAMES.get(k, k or "andere of onbekend"),
            "Taal",
        ),
        (
            "by_channel",
            "Contacten per kanaal",
            f.by_channel,
            lambda k: CHANNELS.get(k, k or "buiten Wegwijs (permanentie, telefoon, bezoek)"),
            "Kanaal",
        ),
        ("outcomes", "Uitkomst", f.outcomes, lambda k: OUTCOMES.get(k, k), "Uitkomst"),
        ("referred_to", "Doorverwezen naar", f.referred_to, service_name, "Dienst"),
    ):
        out.append(one_way(key, title, counts, label, header=header))

    out.append(_waits(f))
    unmet_note = (
        "Vragen waarvoor de sociale kaart geen dienst had: de bot bood dan een brugfiguur aan."
    )
    if f.filters.school:
        unmet_note = "Niet per school geteld: zie het rapport zonder schoolfilter."
    unmet = two_way(
        "unmet",
        "Onbeantwoorde noden per deel van Leuven",
        f.unmet,
        need_label,
        area_label,
        corner="Nood",
        note=unmet_note,
    )
    unmet.chart = "unmet"
    out.append(unmet)
    if f.filters.any:
        out.append(
            Section(
                "checkback",
                "Navragen bij ouders en 'hielp het?'",
                [""],
                [],
                "Deze antwoorden worden niet per school of wijk geteld: zie het rapport zonder filter.",
            )
        )
    else:
        out.append(
            two_way(
                "checkback",
                "Navragen: bereikten ouders de dienst die de bot voorstelde?",
                f.checkback,
                service_name,
                lambda k: CHECKBACK_ANSWERS.get(k, k),
                corner="Dienst",
                columns=list(CHECKBACK_ANSWERS),
                note="Enkele dagen na een voorstel van de bot, bij ouders die ermee instemden.",
            )
        )
        out.append(
            one_way(
                "helped",
                "Na een gesprek met een brugfiguur: hielp het?",
                f.helped,
                lambda k: HELPED.get(k, k),
                header="Antwoord",
                order=list(HELPED),
            )
        )
    out.append(_signals(signals))
    return out


def _reference(f: Figures, themes: Section) -> Section:
    years = ["2022-2023", "2023-2024", "2024-2025"]
    ours = dict(zip(themes.values["labels"], themes.values["counts"], strict=True))  # type: ignore[arg-type]
    individual = f.contacts - f.group_moments
    mine = {
        "Gezinnen bereikt": plain(f.families),
        # hidden with a hidden number of group moments, or contacts minus it would give it away
        "Individuele contacten": HIDDEN if small(f.group_moments) else plain(individual),
        "Groepsmomenten": plain(f.group_moments),
        "Deelnemers aan groepsmomenten": plain(f.participants),
    }
    rows = []
    for row, per_year in REFERENCE.items():
        value = mine.get(row)
        if value is None:
            count = ours.get(row)
            value = HIDDEN if count is None else str(count)
        rows.append(
            [row, *("–" if per_year[y] is None else str(per_year[y]) for y in years), value]
        )
    return Section(
        "reference",
        "Naast de cijfers van vorige jaren",
        ["", *years, f.period.label],
        rows,
        f"Vorige jaren: {REFERENCE_SOURCE}. Dit jaar: de registraties in Wegwijs, voor "
        "het hele netwerk of de gekozen school of wijk.",
    )


def _themes_over_years(f: Figures) -> Section | None:
    if not f.themes_by_year:
        return None
    years = list(f.themes_by_year)
    counts: Counter[tuple[str, str]] = Counter()
    for year, themes in f.themes_by_year.items():
        for theme, count in themes.items():
            counts[(theme, year)] = count
    order = {row: i for i, (row, _) in enumerate(THEME_ROWS)}
    section = two_way(
        "themes_by_year",
        "Thema's over de schooljaren",
        counts,
        lambda k: k,
        lambda k: k,
        corner="Thema",
        columns=years,
    )
    # keep the network's order of themes
    body = sorted(section.rows[:-1], key=lambda r: order.get(r[0], 99))
    section.rows = [*body, section.rows[-1]]
    section.chart = "themes_by_year"
    return section


def _waits(f: Figures) -> Section:
    w = f.waits
    rows = [["Afgesloten vragen", plain(w.count)]]
    for label, values in (("Tot opgepakt", w.to_pickup), ("Tot afgesloten", w.to_close)):
        measured = median_and_p90(values)
        if measured is None:
            rows.append([f"{label}: mediaan / 90e percentiel", "te weinig vragen (<5)"])
        else:
            rows.append(
                [
                    f"{label}: mediaan / 90e percentiel",
                    f"{show_hours(measured[0])} / {show_hours(measured[1])}",
                ]
            )
    rows.append(["Langer dan een werkdag gewacht op iemand", plain(w.over_working_day)])
    rows.append(
        ["Nooit opgepakt (automatisch of zonder antwoord gesloten)", plain(w.never_picked_up)]
    )
    buckets = suppress.column(dict(f.wait_buckets), [label for label, _ in WAIT_BUCKETS])
    section = Section(
        "waits",
        "Wachttijden: van doorgeven tot opgepakt en afgesloten",
        ["", "Waarde"],
        rows,
        "Gerekend vanaf het moment dat er een brugfiguur aan het werk was. 'Een werkdag' is 8 "
        "werkuren van de brugfiguur die de vraag had. Met minder dan 5 vragen staan mediaan en "
        "percentiel er niet.",
        chart="waits",
    )
    section.values = {
        "labels": [label for label, _ in WAIT_BUCKETS],
        "counts": [
            None if (label, "n") in buckets.hidden else buckets.value(label, "n")
            for label, _ in WAIT_BUCKETS
        ],
    }
    return section


def _signals(signals: list[dict[str, object]]) -> Section:
    rows = [
        [
            str(s["id"]),
            str(s["title"]),
            need_label(str(s["theme"])) if s["theme"] in NEED_LABELS else str(s["theme"]),
            area_label(str(s["area"])) if s["area"] else "heel Leuven",
            str(s["since"] or "–"),
            "–" if s["families"] is None else plain(int(s["families"])),  # type: ignore[call-overload]
            SIGNAL_STATUSES.get(str(s["status"]), str(s["status"])),
        ]
        for s in signals
    ]
    return Section(
        "signals",
        "Open signalen voor de werkgroep en de stad",
        ["#", "Signaal", "Thema", "Waar", "Sinds", "Gezinnen", "Status"],
        rows,
        "Structurele problemen die brugfiguren zien, zonder namen. Beantwoorde signalen staan "
        "in de desk."
        if rows
        else "Geen open signalen.",
    )
