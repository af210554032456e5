"""Benchmark the social map at city-region scale: 50,000 services.

Leuven has far fewer services, but the bot must stay fast if the map grows to the province or
is reused elsewhere, and ``find`` runs on every parent message. This script generates a
synthetic map (YAML files with a realistic mix of needs, areas, languages and opening hours,
including SH and PH), times ``wegwijs map build`` on it, then times ``find`` and ``search`` over
random queries, prints a markdown table and refreshes the "Social map" section of
``docs/benchmarks.md``.

Ranked finds (issue 15) get a message too: every synthetic service has 8-24 keywords drawn
from a vocabulary of 3,000 made-up words per language (Zipf-distributed, like real words), and
every query is a message of 5-40 words mixing function words, map words and unknown words, with
a child's age half of the time.

Wall-clock times depend on what else runs on the machine; the CPU time a query costs this
process (``time.process_time``) depends on it much less, so both are reported.

Usage: ``python bench/map_bench.py [--services 50000] [--queries 2000] [--keep DIR] [--no-doc]``
(``--keep``: generate and build into DIR once, and reuse them on later runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from social_map.build import BuildResult, build_map
from social_map.hours import BRUSSELS
from social_map.ranking import Query
from social_map.schema import AREAS, CITY_WIDE, LANGUAGES, NEEDS
from social_map.store import SocialMap

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Social map"
TODAY = date(2026, 11, 21)

HOURS = (
    "Mo-Fr 09:00-12:00; PH off",
    "Mo-Fr 09:00-12:00,13:30-16:00; PH off",
    "Tu 09:00-11:00; Th 15:00-17:00",
    "Mo,Tu,Th,Fr 15:30-17:30; SH off; PH off",
    "Mo-Fr 15:30-18:00; PH,SH off",
    "We 13:00-17:00; SH off",
    "SH Mo-Fr 09:00-16:00",
    "Mo-Sa 09:00-17:00; PH off",
    "Tu,Th 13:00-17:00; Sa 09:00-12:00; PH off",
    "Fr 20:00-02:00",
    "24/7",
    "Mo-Th 18:00-20:00; SH off",
    'Tu,Th 09:00-11:00 "op afspraak"',
    "Mo-Fr 08:30-12:30; We 13:30-17:00; PH off",
)
_VOCABULARY = {
    "nl": "huiswerk hulp school gezin kinderen voeding kleren wonen huur geld papieren "
    "computer opvoeding dokter ontmoeten taal werk advocaat vakantie sport opvang",
    "fr": "devoirs aide école famille enfants nourriture vêtements logement loyer argent "
    "papiers ordinateur éducation médecin rencontre langue travail avocat vacances",
    "en": "homework help school family children food clothes housing rent money papers "
    "computer parenting doctor meeting language work lawyer holiday sport care",
    "ar": "الواجبات مساعدة المدرسة العائلة الأطفال الطعام الملابس السكن الإيجار المال "
    "الأوراق الحاسوب التربية الطبيب لقاء اللغة العمل محامي العطلة",
}
WORDS = {lang: words.split() for lang, words in _VOCABULARY.items()}
_SYLLABLES = {
    "nl": "ka ver huis school wo ning op vang kin der geld brief hulp werk taal zorg spel",
    "fr": "mai son é cole lo ge ment ai de pa pier tra vail jeu san té ar gent",
    "en": "home school care help mon ey play work pa per food coat book lan guage",
    "ar": "مد رس ة دا ر عم ل مسا عد ة فلو س كتا ب سك ن طب يب لع ب",
}
CPU_TIMES: dict[str, list[float]] = {}
KEYWORD_VOCABULARY = 3000
FILLER = [
    "ik",
    "wij",
    "je",
    "the",
    "a",
    "and",
    "de",
    "la",
    "le",
    "et",
    "i",
    "my",
    "we",
    "op",
    "in",
    "met",
    "for",
    "dans",
    "pour",
    "فى",
    "من",
    "و",
]


def keyword_vocabulary(lang: str, seed: int) -> list[str]:
    """Made-up but word-like keywords: 2-4 syllables of the language."""
    rng = random.Random(f"{seed}-{lang}")
    syllables = _SYLLABLES[lang].split()
    found: dict[str, None] = {}
    while len(found) < KEYWORD_VOCABULARY:
        found["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))] = None
    return list(found)


KEYWORDS = {lang: keyword_vocabulary(lang, 7) for lang in LANGUAGES}
_ZIPF = [1 / (rank + 1) for rank in range(KEYWORD_VOCABULARY)]


def _keywords(rng: random.Random, lang: str, count: int) -> list[str]:
    return list(dict.fromkeys(rng.choices(KEYWORDS[lang], weights=_ZIPF, k=count)))


def _text(rng: random.Random, lang: str, words: int) -> str:
    return " ".join(rng.choice(WORDS[lang]) for _ in range(words)).capitalize()


def _service_yaml(index: int, rng: random.Random) -> str:
    service_id = f"dienst-{index:05d}"
    needs = rng.sample(NEEDS, rng.choice((1, 1, 2, 2, 3)))
    roll = rng.random()
    if roll < 0.2:
        areas = [CITY_WIDE]
    elif roll < 0.9:
        areas = [rng.choice(list(AREAS))]
    else:
        areas = rng.sample(list(AREAS), 2)
    langs = ["nl", *(lang for lang in LANGUAGES[1:] if rng.random() < 0.5)]
    lines = [f"id: {service_id}", "name:"]
    lines += [f"  {lang}: {_text(rng, lang, 2)} {index}" for lang in langs]
    lines.append("description:")
    lines += [f"  {lang}: {_text(rng, lang, 10)}." for lang in langs]
    lines += [f"needs: [{', '.join(needs)}]", f"areas: [{', '.join(areas)}]"]
    lines.append("keywords:")
    lines += [
        f"  {lang}: [{', '.join(_keywords(rng, lang, rng.randint(2, 6)))}]" for lang in LANGUAGES
    ]
    if rng.random() < 0.6:
        lines += ["phones:", f'  - number: "016 {rng.randint(10, 99)} {rng.randint(10, 99)} 11"']
    lines.append(f"cost: {rng.choice(('free', 'social_rate', 'paid'))}")
    if rng.random() < 0.2:
        lines.append(f"opening_hours: '{rng.choice(HOURS)}'")
    location_areas = [a for a in areas if a != CITY_WIDE] or [rng.choice(list(AREAS))]
    if rng.random() < 0.85:
        lines.append("locations:")
        for area in location_areas:
            lines += [
                f"  - address_1: Straat {rng.randint(1, 200)}",
                f'    postal_code: "{AREAS[area]}"',
                "    city: Leuven",
                f"    area: {area}",
            ]
            if rng.random() < 0.8:
                lines.append(f"    opening_hours: '{rng.choice(HOURS)}'")
    verified = TODAY - timedelta(days=rng.randint(0, 330))
    lines += [
        "source:",
        f"  - url: https://example.org/{service_id}",
        f"last_verified: {verified.isoformat()}",
    ]
    return "\n".join(lines) + "\n"


def generate(folder: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    for index in range(count):
        (folder / f"dienst-{index:05d}.yml").write_text(_service_yaml(index, rng), "utf-8")


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _random_moment(rng: random.Random) -> datetime:
    start = datetime(2026, 9, 1, tzinfo=BRUSSELS)
    return start + timedelta(minutes=rng.randint(0, 365 * 24 * 60))


def time_find(social_map: SocialMap, queries: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    areas = [*AREAS, None]
    params = [
        (rng.choice(NEEDS), rng.choice(areas), rng.choice(LANGUAGES), _random_moment(rng))
        for _ in range(queries)
    ]
    for need, area, lang, at in params[:200]:  # warm the page cache and the hours cache
        social_map.find(need, area, lang, at, limit=5)
    samples, cpu = [], []
    for need, area, lang, at in params:
        started = time.perf_counter()
        cpu_started = time.process_time()
        social_map.find(need, area, lang, at, limit=5)
        cpu.append((time.process_time() - cpu_started) * 1000)
        samples.append((time.perf_counter() - started) * 1000)
    CPU_TIMES["plain"] = cpu
    return samples


def message(rng: random.Random) -> str:
    """5-40 words: function words, map words in the parent's language, words the map lacks."""
    lang = rng.choice(LANGUAGES)
    words = []
    for _ in range(rng.randint(5, 40)):
        roll = rng.random()
        if roll < 0.45:
            words.append(rng.choice(FILLER))
        elif roll < 0.75:
            words.extend(_keywords(rng, lang, 1))
        else:
            words.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)))
    return " ".join(words)


def time_ranked_find(
    social_map: SocialMap, queries: int, seed: int
) -> tuple[list[float], list[float], float]:
    """Ranked finds with a message: (find ms, message-to-query ms, vocabulary load ms)."""
    rng = random.Random(seed + 1)
    areas = [*AREAS, None]
    params = [
        (
            rng.choice(NEEDS),
            rng.choice(areas),
            rng.choice(LANGUAGES),
            _random_moment(rng),
            message(rng),
            rng.choice((None, rng.randint(0, 17))),
        )
        for _ in range(queries)
    ]
    started = time.perf_counter()
    social_map.vocabulary()
    vocabulary_ms = (time.perf_counter() - started) * 1000
    for need, area, lang, at, text, age in params[:200]:
        social_map.find(need, area, lang, at, limit=3, query=Query.from_message(text, age))
    finds, parses, cpu = [], [], []
    for need, area, lang, at, text, age in params:
        started = time.perf_counter()
        query = Query.from_message(text, age)
        parsed = time.perf_counter()
        cpu_started = time.process_time()
        social_map.find(need, area, lang, at, limit=3, query=query)
        cpu.append((time.process_time() - cpu_started) * 1000)
        done = time.perf_counter()
        parses.append((parsed - started) * 1000)
        finds.append((done - parsed) * 1000)
    CPU_TIMES["ranked"] = cpu
    return finds, parses, vocabulary_ms


def time_search(social_map: SocialMap, queries: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    params = []
    for _ in range(queries):
        lang = rng.choice(LANGUAGES)
        params.append((" ".join(rng.sample(WORDS[lang], rng.choice((1, 2)))), lang))
    for text, lang in params[:50]:
        social_map.search(text, lang, limit=10)
    samples = []
    for text, lang in params:
        started = time.perf_counter()
        social_map.search(text, lang, limit=10)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def machine(load: tuple[float, float, float]) -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} CPUs ({cpu}, nproc {len(os.sched_getaffinity(0))}), "
        f"Python {platform.python_version()}, {platform.system()}, "
        f"load average {load[0]:.1f} when the run started"
    )


def report(
    services: int,
    generate_s: float,
    build: BuildResult | None,
    find: list[float],
    search: list[float],
    ranked: tuple[list[float], list[float], float],
    terms: int,
) -> str:
    ranked_find, parses, vocabulary_ms = ranked
    rows = [
        "| measure | value |",
        "|---|---|",
        f"| services | {services:,} |",
        *(
            [
                f"| generate YAML | {generate_s:.1f} s |",
                f"| build: check all files (YAML + validation) | {build.check_seconds:.1f} s |",
                f"| build: write SQLite + FTS + indexes | {build.write_seconds:.1f} s |",
            ]
            if build
            else ["| generate and build | reused from an earlier run (--keep) |"]
        ),
        f"| find, limit 5: median | {statistics.median(find):.3f} ms |",
        f"| find, limit 5: p99 | {_percentile(find, 0.99):.3f} ms |",
        f"| find, limit 5: CPU time median / p99 | {statistics.median(CPU_TIMES['plain']):.3f} / "
        f"{_percentile(CPU_TIMES['plain'], 0.99):.3f} ms |",
        f"| find queries | {len(find):,} |",
        f"| ranked find with a message, limit 3: median | {statistics.median(ranked_find):.3f} ms |",
        f"| ranked find with a message, limit 3: p99 | {_percentile(ranked_find, 0.99):.3f} ms |",
        f"| message to query (words, age, urgency): median / p99 | "
        f"{statistics.median(parses):.3f} / {_percentile(parses, 0.99):.3f} ms |",
        f"| ranked find: CPU time median / p99 | {statistics.median(CPU_TIMES['ranked']):.3f} / "
        f"{_percentile(CPU_TIMES['ranked'], 0.99):.3f} ms |",
        f"| ranked find queries | {len(ranked_find):,} |",
        f"| term rows (need, key, service) | {terms:,} |",
        f"| vocabulary load, once per opened map | {vocabulary_ms:.0f} ms |",
        f"| search, limit 10: median | {statistics.median(search):.3f} ms |",
        f"| search, limit 10: p99 | {_percentile(search, 0.99):.3f} ms |",
        f"| search queries | {len(search):,} |",
    ]
    return "\n".join(rows)


def update_doc(table: str, services: int, load: tuple[float, float, float]) -> None:
    section = (
        f"{SECTION}\n\n"
        f"Measured by `python bench/map_bench.py` on {date.today().isoformat()}: "
        f"{machine(load)}.\n\n"
        f"A synthetic map of {services:,} services (one YAML file each, in a RAM-backed temporary "
        "folder when there is one; mixed needs, areas, languages and opening hours with SH and "
        "PH) is checked and built, then `find` runs for random (need, area, language, time) "
        "queries, a ranked `find` for random messages (see the script's docstring) and `search` "
        "for random words in the four languages. Goal: `find` p99 under 1 ms, also ranked.\n\n"
        f"{table}\n\n"
        "Notes: checking is dominated by ruamel.yaml round-trip parsing (a few ms per file, kept "
        "for the line numbers in error messages) and runs on all CPUs; the real map has about "
        "60 files and checks in under a second. `find` does the tiering and the LIMIT in SQL and "
        "evaluates opening hours for at most 20 candidates; a ranked `find` adds one index lookup "
        "per word of the message in the `terms` table (keys on more than 500 rows are skipped as "
        "too common) and ranks at most 8 more candidates. The search vocabulary is "
        "deliberately tiny (about 20 words per language), so every word matches thousands of "
        "services; real queries match far fewer rows and are faster.\n"
    )
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--keep", type=Path, help="generate and build here once, then reuse")
    args = parser.parse_args()

    load = os.getloadavg()
    scratch = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="map-bench-", dir=scratch) as temp:
        folder = args.keep or Path(temp)
        data, db = folder / "data", folder / "social_map.db"
        generate_s, result = 0.0, None
        if not (args.keep and db.exists()):
            data.mkdir(parents=True, exist_ok=True)
            print(f"Generating {args.services:,} services ...", file=sys.stderr)
            started = time.perf_counter()
            generate(data, args.services, args.seed)
            generate_s = time.perf_counter() - started
            print("Building ...", file=sys.stderr)
            result = build_map(data, db, today=TODAY)
            if not result.built:
                print("\n".join(str(p) for p in result.errors[:20]), file=sys.stderr)
                return 1
        print("Querying ...", file=sys.stderr)
        with SocialMap.open(db) as social_map:
            find = time_find(social_map, args.queries, args.seed)
            ranked = time_ranked_find(social_map, args.queries, args.seed)
            search = time_search(social_map, max(args.queries // 4, 1), args.seed)
            terms = social_map._query("SELECT count(*) FROM terms")[0][0]
    table = report(args.services, generate_s, result, find, search, ranked, terms)
    print(table)
    if not args.no_doc:
        update_doc(table, args.services, load)
        print(f"\nUpdated {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
