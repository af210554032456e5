"""Read one YAML file keeping line numbers, and explain YAML syntax errors in plain words.

Round-trip mode keeps ``.lc`` line information on every mapping and list, so each problem can
point at its line. Dates stay text here: the checker parses them itself, so an impossible date
like 2026-13-45 becomes a message on its own line instead of a crash.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError


class _TextDatesConstructor(RoundTripConstructor):
    """Round-trip constructor that leaves timestamps as strings."""


_TextDatesConstructor.add_constructor(
    "tag:yaml.org,2002:timestamp", _TextDatesConstructor.construct_yaml_str
)


class YamlSyntaxError(Exception):
    """A file that is not valid YAML; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _TextDatesConstructor
    return yaml


def _first_key_line(text: str, key: str, before: int) -> int | None:
    pattern = re.compile(rf"^\s*(?:-\s+)?['\"]?{re.escape(key)}['\"]?\s*:")
    for number, line in enumerate(text.splitlines()[: before - 1], start=1):
        if pattern.match(line):
            return number
    return None


def _explain(error: MarkedYAMLError, text: str) -> tuple[int, str]:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else 1
    context_line = error.context_mark.line + 1 if error.context_mark else line
    problem = (error.problem or "").strip()
    context = (error.context or "").strip()
    if isinstance(error, DuplicateKeyError):
        key = problem.split('"')[1] if '"' in problem else "?"
        first = _first_key_line(text, key, line)
        also = f" (also on line {first})" if first else ""
        return line, f'the field "{key}" appears twice{also}; keep only one'
    if "'\\t'" in problem:
        return line, "there is a tab character: indent with spaces only"
    if "flow sequence" in context:
        return context_line, "the list that starts here with [ is not closed with ]"
    if "flow mapping" in context:
        return context_line, "the group that starts here with { is not closed with }"
    if "quoted scalar" in context:
        return context_line, f"a quote opened on line {context_line} is never closed"
    if "mapping values are not allowed" in problem:
        return line, (
            'unexpected ":" on this line: check the indentation, or put a text containing '
            '": " in quotes'
        )
    if "cannot start any token" in problem:
        char = problem.split("'")[1] if "'" in problem else "?"
        return line, f'a value starts with "{char}": put the value in quotes'
    source_line = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    if "found '<scalar>'" in problem and (
        source_line.count('"') >= 3 or source_line.count("'") >= 3
    ):
        return line, (
            "a text in quotes contains the same quote sign inside it: put the whole value in "
            """single quotes, like 'Tu 09:00-11:00 "op afspraak"'"""
        )
    if "block mapping" in context or "block collection" in context or "block sequence" in context:
        return line, "the indentation is wrong: fields of one level must start in the same column"
    return line, f"this is not valid YAML ({problem or context or 'syntax error'})"


def read_yaml(path: Path) -> Any:
    """The parsed document, or ``YamlSyntaxError`` with a line and a plain message."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise YamlSyntaxError(1, "the file is not saved as UTF-8 text") from error
    try:
        return _yaml().load(text)
    except MarkedYAMLError as error:
        line, message = _explain(error, text)
        raise YamlSyntaxError(line, message) from error
    except YAMLError as error:
        raise YamlSyntaxError(1, f"this is not valid YAML ({error})") from error
