"""One multilingual model, or one model per language? Measure both on the same test split.

Trains a model per language (that language's training data plus the shared area lookups,
same pipeline as nlu/config.yml) in a temporary folder, serves each with the real Rasa server,
scores it on its own language's test split, and compares with the multilingual model that
`wegwijs nlu train` builds. Writes the table into docs/nlu.md.

    .venv/bin/python bench/nlu_compare.py
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bot.nlu import evaluate, training
from bot.nlu.server import LocalRasaServer
from bot.paths import NLU_PROJECT

BEGIN, END = "<!-- nlu-compare:begin -->", "<!-- nlu-compare:end -->"
LANGS = ("nl", "fr", "en", "ar")


def train_single(lang: str, workdir: Path) -> tuple[Path, float]:
    data = workdir / f"data-{lang}"
    data.mkdir()
    shutil.copy(NLU_PROJECT / "data" / f"nlu_{lang}.yml", data)
    shutil.copy(NLU_PROJECT / "data" / "areas.yml", data)
    started = time.perf_counter()
    model = training.rasa_train(data, workdir, f"only-{lang}")
    return model, time.perf_counter() - started


def main() -> None:
    multi = training.train(quiet=True)
    with LocalRasaServer(multi.model) as server:
        multi_report = {r.language: r for r in evaluate.run(server.url).languages}
    rows = []
    total_single_seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for lang in LANGS:
            model, seconds = train_single(lang, Path(tmp))
            total_single_seconds += seconds
            with LocalRasaServer(model) as server:
                single = evaluate.run(server.url, (lang,)).languages[0]
            multi_lang = multi_report[lang]
            rows.append(
                f"| {lang} | {multi_lang.accuracy:.1%} | {multi_lang.f1:.3f} | "
                f"{single.accuracy:.1%} | {single.f1:.3f} | {seconds:.0f} s |"
            )
            print(rows[-1], flush=True)
    section = "\n".join(
        [
            BEGIN,
            "Measured by `bench/nlu_compare.py` (same pipeline, same held-out test split; "
            "accuracy includes the crisis net in both cases).",
            "",
            "| language | multilingual accuracy | multilingual macro-F1 | per-language accuracy "
            "| per-language macro-F1 | per-language training |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"Training: the multilingual model {multi.seconds:.0f} s when trained in this run "
            f"(0 s means the cached model was reused); four per-language models "
            f"{total_single_seconds:.0f} s together.",
            END,
        ]
    )
    evaluate.write_doc(section, begin=BEGIN, end=END)
    print(section)


if __name__ == "__main__":
    main()
