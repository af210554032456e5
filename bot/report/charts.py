"""Charts for the report, drawn on the server with matplotlib as SVG.

One chart per question a coordinator asks: which themes come up, over the years; how long
parents wait for a person; which needs the map cannot answer, where; what kind of contacts the
network has. They are drawn from the sections of :mod:`bot.report.tables`, after suppression:
a hidden count is drawn as no bar, with "<5" written where it would be. Grey tones and labels
on the bars keep them readable when printed in black and white.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen on a server

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bot.report.tables import Section

GREYS = ("#1f1f1f", "#5b5b5b", "#8f8f8f", "#bdbdbd", "#dedede")
plt.rcParams.update(
    {
        "font.size": 9,
        "font.family": "DejaVu Sans",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.fonttype": "none",  # text stays text: searchable, sharp when printed
        "svg.hashsalt": "wegwijs",  # the same figures give the same file
    }
)


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # no XML prologue: the SVG sits inside an HTML page


def _bars(labels: list[str], counts: list[int | None], title: str, xlabel: str) -> str:
    figure, axes = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.2))
    positions = list(range(len(labels)))[::-1]
    values = [count or 0 for count in counts]
    bars = axes.barh(positions, values, color=GREYS[1])
    top = max(values, default=0) or 1
    for bar, count in zip(bars, counts, strict=True):
        text = "<5" if count is None else str(count)
        axes.text(bar.get_width() + top * 0.01, bar.get_y() + bar.get_height() / 2, text,
                  va="center", fontsize=8)  # fmt: skip
    axes.set_yticks(positions, labels)
    axes.set_xlabel(xlabel)
    axes.set_title(title, loc="left", fontweight="bold")
    axes.set_xlim(0, top * 1.15)
    return _svg(figure)


def contact_types(section: Section) -> str:
    v = section.values
    return _bars(v["labels"], v["counts"], "Welke contacten had het netwerk?", "aantal contacten")


def waits(section: Section) -> str:
    v = section.values
    return _bars(
        v["labels"], v["counts"], "Hoe lang wachtten ouders tot iemand de vraag oppakte?",
        "aantal vragen",
    )  # fmt: skip


def themes_by_year(section: Section) -> str:
    v = section.values
    rows: list[str] = [r[0] for r in section.rows[:-1]]  # the network's order
    index = {name: i for i, name in enumerate(v["rows"])}
    years: list[str] = v["columns"]
    figure, axes = plt.subplots(figsize=(7.5, 0.55 * len(rows) * max(1, len(years)) / 2 + 1.5))
    height = 0.8 / max(1, len(years))
    base = list(range(len(rows)))[::-1]
    top = max((c or 0 for row in v["counts"] for c in row), default=0) or 1
    for y, year in enumerate(years):
        counts = [v["counts"][index[name]][y] for name in rows]
        offsets = [b + (len(years) - 1 - y) * height - 0.4 + height / 2 for b in base]
        colour = GREYS[min(y, len(GREYS) - 1)] if len(years) <= len(GREYS) else GREYS[y % 5]
        bars = axes.barh(offsets, [c or 0 for c in counts], height=height * 0.95,
                         color=colour, label=year, edgecolor="black", linewidth=0.3)  # fmt: skip
        for bar, count in zip(bars, counts, strict=True):
            text = "<5" if count is None else str(count)
            axes.text(bar.get_width() + top * 0.01, bar.get_y() + bar.get_height() / 2, text,
                      va="center", fontsize=7)  # fmt: skip
    axes.set_yticks(base, rows)
    axes.set_xlim(0, top * 1.15)
    axes.set_xlabel("aantal keer als thema geregistreerd")
    axes.set_title("Welke thema's kwamen aan bod, per schooljaar?", loc="left", fontweight="bold")
    axes.legend(title="schooljaar", loc="lower right", frameon=False)
    return _svg(figure)


def unmet(section: Section) -> str:
    v = section.values
    rows: list[str] = v["rows"]
    columns: list[str] = v["columns"]
    if not rows:
        return ""
    figure, axes = plt.subplots(figsize=(1.3 * len(columns) + 3, 0.45 * len(rows) + 1.5))
    values = [[c or 0 for c in row] for row in v["counts"]]
    top = max((c for row in values for c in row), default=0) or 1
    axes.imshow(values, cmap="Greys", vmin=0, vmax=top * 1.6, aspect="auto")
    for i, row in enumerate(v["counts"]):
        for j, count in enumerate(row):
            text = "<5" if count is None else str(count)
            shade = "white" if (count or 0) > top * 0.9 else "black"
            axes.text(j, i, text, ha="center", va="center", fontsize=8, color=shade)
    axes.set_xticks(range(len(columns)), columns, rotation=20, ha="right")
    axes.set_yticks(range(len(rows)), rows)
    axes.set_title("Welke vragen kon de sociale kaart niet beantwoorden, en waar?", loc="left",
                   fontweight="bold")  # fmt: skip
    for spine in axes.spines.values():
        spine.set_visible(False)
    return _svg(figure)


CHARTS: dict[str, Callable[[Section], str]] = {
    "contact_types": contact_types,
    "waits": waits,
    "themes_by_year": themes_by_year,
    "unmet": unmet,
}


def draw(section: Section) -> str:
    """The section's chart as SVG text, or "" when it has none (or nothing to draw)."""
    if section.chart is None:
        return ""
    values: Any = section.values
    if not values or not any(values.get("counts") or []):
        return ""
    return CHARTS[section.chart](section)
