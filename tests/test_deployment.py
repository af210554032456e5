"""docker-compose.yml, its proxy's config and the Dockerfile, checked without a Docker engine.

The compose file is validated against the Compose specification's JSON schema (vendored in
tests/data/compose-spec.json, see its README), after the same ``${VAR:-default}`` interpolation
compose does, as a whole and as each of its three runs sees it (the default SQLite bot, profile
``postgres``, profile ``replicas``). Then the things that matter for Wegwijs: the Rasa image and
model, health checks, the data volumes, every setting the bot reads, no secret in the file,
loopback-only ports, PostgreSQL and the replicas, the proxy's Caddyfile (``caddy validate``
with Debian's caddy, which ``make test`` installs), and a Dockerfile that only copies files a
fresh clone has.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft7Validator
from ruamel.yaml import YAML

from bot.nlu.client import nlu_urls
from bot.paths import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
CADDYFILE = PROJECT_ROOT / "deploy" / "Caddyfile"
OPERATORS_GUIDE = PROJECT_ROOT / "docs" / "operators.md"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
SCHEMA_FILE = Path(__file__).parent / "data" / "compose-spec.json"

RASA_IMAGE = "rasa/rasa:3.6.21-full"

# Settings the bot reads that compose deliberately does not pass, and why.
NOT_PASSED = {
    "WEGWIJS_MAP_DB": "defaults to <WEGWIJS_DATA_DIR>/social_map.db, which is on the volume",
    "WEGWIJS_STATE_DB": "defaults to <WEGWIJS_DATA_DIR>/state.db, which is on the volume",
    "WEGWIJS_RASA": "only to train or to start the bot's own Rasa; compose sets NLU_URL instead",
}
# Settings only the PostgreSQL bots pass (the SQLite bot leaves them unset), and why. They are
# read by the database layer and the replicas' coordination (issue 18: bot/db, bot/replicas);
# FORWARDED_ALLOW_IPS by uvicorn, the bot's web server.
PROFILE_SETTINGS = {
    "WEGWIJS_DATABASE_URL": "the state in PostgreSQL; unset, SQLite in the data directory",
    "WEGWIJS_DATABASE_POOL": "the connection pool's size; empty, its default",
    "WEGWIJS_LEASE_SECONDS": "how soon a replica takes over a dead one's work; empty, default",
    "WEGWIJS_REPLICA": "a replica's stable name in the database's claims",
    "FORWARDED_ALLOW_IPS": "uvicorn: the proxies whose X-Forwarded-For the bot believes",
}
# The three ways to run Wegwijs with compose: (profile, service named on the command line).
# Each is written at the top of docker-compose.yml and in docs/operators.md.
RUNS = {
    "sqlite": (None, None),
    "postgres": ("postgres", "bot-postgres"),
    "replicas": ("replicas", "proxy"),
}
STARTED = {
    "sqlite": {"rasa", "bot"},
    "postgres": {"rasa", "postgres", "bot-postgres"},
    "replicas": {"rasa", "rasa-2", "postgres", "bot-1", "bot-2", "proxy"},
}
BOTS = {"sqlite": ["bot"], "postgres": ["bot-postgres"], "replicas": ["bot-1", "bot-2"]}
REPLICAS = ["bot-1", "bot-2"]
POSTGRES_IMAGE = "postgres:15"
# Names that hold secrets: only ever ``${NAME}`` or ``${NAME:-}`` in the compose file.
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY")
# What real tokens look like (Telegram bot token, Meta access token), should one be pasted in.
TOKEN_LIKE = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b|\bEAA[A-Za-z0-9]{30,}\b")
# Go durations, as compose expects them for health checks ("30s", "1m30s").
GO_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")
# An environment variable the bot reads: any string literal of this shape in bot/ or social_map/.
SETTING = re.compile(r"^(?:WEGWIJS|TELEGRAM|WHATSAPP|NLU)_[A-Z0-9_]+$")

# -- Helpers ----------------------------------------------------------------------------------

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<invalid>))"
)


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution (``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``...)."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["invalid"] is not None:
            raise ValueError(f"invalid interpolation in {value!r}")
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"] or ""
        present = name in env
        filled = present and env[name] != ""
        if op in (":-", "-"):
            return env[name] if (filled if op == ":-" else present) else arg
        if op in (":+", "+"):
            return arg if (filled if op == ":+" else present) else ""
        if op in (":?", "?") and not (filled if op == ":?" else present):
            raise ValueError(f"{name} is required: {arg}")
        return env.get(name, "")

    return _INTERPOLATION.sub(substitute, value)


def load_yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's ``environment``, in either of compose's two forms."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: None if value is None else str(value) for key, value in env.items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue  # Docker drops comment lines, also inside a continued instruction
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    pairs = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        pairs.append((instruction.upper(), args.strip()))
    return pairs


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, args in dockerfile_instructions():
        if instruction == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def settings_read_by_the_bot() -> dict[str, set[str]]:
    """Every ``WEGWIJS_*``/``TELEGRAM_*``/``WHATSAPP_*``/``NLU_*`` name in the code, and where."""
    found: dict[str, set[str]] = {}
    for package in ("bot", "social_map"):
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and SETTING.match(node.value)
                ):
                    found.setdefault(node.value, set()).add(
                        path.relative_to(PROJECT_ROOT).as_posix()
                    )
    return found


def published_ports(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(host_ip, published, target)`` for each published port (short or long syntax)."""
    result = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            result.append(
                (str(port.get("host_ip", "")), str(port.get("published", "")), str(port["target"]))
            )
            continue
        spec = str(port).split("/", 1)[0]
        if spec.startswith("["):  # [::1]:8080:8080
            host_ip, _, rest = spec[1:].partition("]:")
            published, _, target = rest.rpartition(":")
        else:
            parts = spec.split(":")
            host_ip = parts[0] if len(parts) == 3 else ""
            published = parts[-2] if len(parts) >= 2 else ""
            target = parts[-1]
        result.append((host_ip, published, target))
    return result


def mounts(service: dict[str, Any]) -> list[dict[str, Any]]:
    """A service's volumes in long syntax (short syntax converted)."""
    result = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            result.append(volume)
            continue
        parts = str(volume).split(":")
        source, target = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
        kind = "bind" if source.startswith((".", "/", "~", "$")) else "volume"
        mount = {"type": kind, "source": source, "target": target}
        mount["read_only"] = len(parts) > 2 and "ro" in parts[2].split(",")
        mount["short_syntax"] = True
        result.append(mount)
    return result


def python_healthcheck(test: list[str]) -> str | None:
    """The code of a ``["CMD", "python", "-c", code]`` health check, else None."""
    if len(test) == 4 and test[0] == "CMD" and test[1] in ("python", "python3") and test[2] == "-c":
        return test[3]
    return None


def command_line(run: str) -> str:
    """How an operator starts ``run`` (the line docs/operators.md and the file's header show)."""
    profile, target = RUNS[run]
    words = ["docker", "compose"] + (["--profile", profile] if profile else []) + ["up", "-d"]
    return " ".join(words + ([target] if target else []))


def enabled(document: dict[str, Any], profile: str | None) -> dict[str, Any]:
    """The file as compose sees it with ``profile`` active: services without profiles, and
    those with this one (compose keeps the rest out of the project)."""
    services = {
        name: service
        for name, service in document["services"].items()
        if not service.get("profiles") or profile in service["profiles"]
    }
    return {**document, "services": services}


def dependencies(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return {name: {"condition": "service_started"} for name in depends}
    return depends


def started(document: dict[str, Any], run: str) -> set[str]:
    """The services ``command_line(run)`` starts: all enabled ones, or the named service and
    what it depends on, transitively."""
    profile, target = RUNS[run]
    services = enabled(document, profile)["services"]
    if target is None:
        return set(services)
    found: set[str] = set()
    todo = [target]
    while todo:
        name = todo.pop()
        if name in found or name not in services:
            continue
        found.add(name)
        todo.extend(dependencies(services[name]))
    return found


def bot_services(compose: dict[str, Any]) -> list[str]:
    """Every service that runs the bot (built from the Dockerfile)."""
    return [name for name, service in compose["services"].items() if "build" in service]


def caddy_directives(text: str) -> list[list[str]]:
    """The Caddyfile's lines as words, comments dropped (enough for the checks below)."""
    lines = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            lines.append(words)
    return lines


# -- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft7Validator:
    # The schema says draft-07 (as https://..., which jsonschema's lookup does not know, so the
    # validator is chosen explicitly). No format checker: the schema uses no `format`, and the
    # formats compose once had there ("duration" as a Go duration like "30s") are not JSON
    # Schema's; durations are checked below instead.
    return Draft7Validator(schema)


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose(raw_compose: dict[str, Any]) -> dict[str, Any]:
    """The file as compose sees it when no variable is set (every default applies)."""
    return interpolate(raw_compose, {})


@pytest.fixture(scope="module")
def rasa(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]["rasa"]


@pytest.fixture(scope="module")
def bot(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]["bot"]


def schema_errors(validator: Draft7Validator, document: Any) -> list[str]:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


# -- The Compose specification ----------------------------------------------------------------


def test_the_vendored_schema_is_a_valid_draft_07_schema(schema: dict[str, Any]) -> None:
    assert "draft-07" in schema["$schema"], "refreshed schema changed draft: update the validator"
    Draft7Validator.check_schema(schema)
    assert "services" in schema["properties"]


def test_compose_file_follows_the_compose_specification(
    validator: Draft7Validator, raw_compose: dict[str, Any], compose: dict[str, Any]
) -> None:
    assert schema_errors(validator, raw_compose) == []
    assert schema_errors(validator, compose) == []


def test_compose_file_interpolates_with_every_variable_set(
    validator: Draft7Validator, raw_compose: dict[str, Any]
) -> None:
    names = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_FILE.read_text("utf-8")))
    filled = interpolate(raw_compose, {name: "x" for name in names})
    assert schema_errors(validator, filled) == []


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"services": {"bot": {"ports": 8080}}}, id="ports-not-a-list"),
        pytest.param({"services": {"bot": {"image": "x", "helthcheck": {}}}}, id="unknown-key"),
        pytest.param({"services": {"bot": {"image": "x"}}, "volume": {}}, id="unknown-top-key"),
        pytest.param(
            {"services": {"bot": {"depends_on": {"rasa": {"condition": "service_ready"}}}}},
            id="bad-condition",
        ),
        pytest.param({"services": {"bot": {"healthcheck": {"retries": [3]}}}}, id="retries-list"),
        pytest.param({"services": [{"bot": {"image": "x"}}]}, id="services-as-list"),
    ],
)
def test_the_schema_rejects_a_broken_document(validator: Draft7Validator, document: Any) -> None:
    assert schema_errors(validator, document), "the schema accepted a broken compose file"


def test_the_schema_rejects_a_typo_in_our_own_file(
    validator: Draft7Validator, compose: dict[str, Any]
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["rasa"]["healthcheck"]["intervall"] = "10s"
    assert schema_errors(validator, broken)
    assert schema_errors(validator, {"services": {"bot": {"image": "x"}}}) == []


# -- Rasa -------------------------------------------------------------------------------------


def test_rasa_serves_the_trained_model_with_the_http_api(
    rasa: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.nlu.training import model_path_for

    assert rasa["image"] == RASA_IMAGE
    command = rasa["command"]
    assert isinstance(command, list) and command[0] == "run"
    assert "--enable-api" in command
    assert "--quiet" in command  # Rasa must not log what parents write
    model = command[command.index("--model") + 1]

    # The folder `wegwijs nlu train` writes to (the default data dir, as on the host) is
    # mounted read-only at --model; Rasa serves the newest *.tar.gz in that folder.
    monkeypatch.delenv("WEGWIJS_DATA_DIR", raising=False)
    trained = model_path_for("0" * 16)
    assert trained.name.endswith(".tar.gz")
    models = [m for m in mounts(rasa) if m["target"].rstrip("/") == model.rstrip("/")]
    assert len(models) == 1, f"nothing is mounted at --model {model}"
    assert models[0]["type"] == "bind" and models[0]["read_only"] is True
    assert (PROJECT_ROOT / models[0]["source"]).resolve() == trained.parent.resolve()


def test_the_bot_reaches_rasa_on_its_port(rasa: dict[str, Any], bot: dict[str, Any]) -> None:
    command = rasa["command"]
    port = command[command.index("--port") + 1] if "--port" in command else "5005"
    assert environment(bot)["NLU_URL"] == f"http://rasa:{port}"
    assert port in [str(p) for p in rasa.get("expose", [])]
    assert not rasa.get("ports"), "Rasa's API can replace the model: never publish it"


def test_bot_waits_for_a_healthy_rasa_but_runs_without_it(bot: dict[str, Any]) -> None:
    dependency = bot["depends_on"]["rasa"]
    assert dependency["condition"] == "service_healthy"
    # Without Rasa the bot still answers (menu, crisis numbers): it must start anyway.
    assert dependency.get("required") is False


# -- Health checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["rasa", "bot", "postgres", "bot-postgres", "rasa-2", "bot-1", "bot-2", "proxy"]
)
def test_every_service_has_a_working_healthcheck(compose: dict[str, Any], name: str) -> None:
    assert set(compose["services"]) == {
        "rasa", "bot", "postgres", "bot-postgres", "rasa-2", "bot-1", "bot-2", "proxy"
    }, "a new service: add it here"  # fmt: skip
    service = compose["services"][name]
    check = service.get("healthcheck")
    assert check and not check.get("disable"), f"{name} has no health check"
    test = check["test"]
    assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL")
    for key in ("interval", "timeout", "start_period"):
        assert GO_DURATION.match(str(check[key])), f"{name}: {key} {check[key]!r}"
    assert isinstance(check["retries"], int) and check["retries"] >= 1
    if service.get("image") == POSTGRES_IMAGE:
        # The image's own tool: ready means accepting connections for our user and database.
        env = environment(service)
        assert test[1] == "pg_isready"
        assert env["POSTGRES_USER"] in test and env["POSTGRES_DB"] in test
        return
    if str(service.get("image", "")).startswith("caddy:"):
        # The Alpine image has busybox's wget, and no Python.
        assert test[1] == "wget" and "http://127.0.0.1:8080/healthz" in test
        return
    # The bot's and Rasa's images have Python; curl is not guaranteed. The code must compile.
    code = python_healthcheck(test)
    assert code is not None, f"{name}: use python -c, the image may have no curl"
    compile(code, f"{name} healthcheck", "exec")


def test_healthchecks_ask_the_right_ports(rasa: dict[str, Any], bot: dict[str, Any]) -> None:
    rasa_code = python_healthcheck(rasa["healthcheck"]["test"]) or ""
    assert re.search(r"http://(127\.0\.0\.1|localhost):5005/status", rasa_code)
    bot_code = python_healthcheck(bot["healthcheck"]["test"]) or ""
    port = dockerfile_env()["WEGWIJS_PORT"]
    assert f"http://127.0.0.1:{port}/healthz" in bot_code
    server = (PROJECT_ROOT / "bot" / "server.py").read_text(encoding="utf-8")
    assert 'Route("/healthz"' in server


# -- The bot's image --------------------------------------------------------------------------


def test_bot_builds_from_the_dockerfile(bot: dict[str, Any]) -> None:
    build = bot["build"]
    context, dockerfile = (
        (build, "Dockerfile") if isinstance(build, str) else (build["context"], build["dockerfile"])
    )
    assert (PROJECT_ROOT / context).resolve() == PROJECT_ROOT
    assert (PROJECT_ROOT / context / dockerfile).resolve() == DOCKERFILE


def _shippable_files() -> set[str] | None:
    """Files a fresh clone has (tracked or new, not ignored); None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return set(out.splitlines())


def test_every_path_the_dockerfile_copies_exists() -> None:
    copies = [
        args for instruction, args in dockerfile_instructions() if instruction in ("COPY", "ADD")
    ]
    assert copies
    shippable = _shippable_files()
    for args in copies:
        words = json.loads(args) if args.startswith("[") else shlex.split(args)
        flags = [w for w in words if w.startswith("--")]
        assert not any(f.startswith("--from") for f in flags), "update this test for stages"
        for source in [w for w in words if not w.startswith("--")][:-1]:
            path = PROJECT_ROOT / source
            assert path.exists(), f"the Dockerfile copies {source}, which does not exist"
            if shippable is not None:
                rel = path.relative_to(PROJECT_ROOT).as_posix()
                assert rel in shippable or any(f.startswith(rel + "/") for f in shippable), (
                    f"the Dockerfile copies {source}, which git ignores: a fresh clone lacks it"
                )


def test_the_image_runs_the_bot_as_pid_1_and_not_as_root() -> None:
    instructions = dockerfile_instructions()
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    cmd = [args for instruction, args in instructions if instruction == "CMD"][-1]
    words = json.loads(cmd)
    # `docker stop` sends SIGTERM to PID 1: a shell in between would swallow it.
    assert words == ["wegwijs", "serve"] or "exec wegwijs serve" in words[-1]


# -- Data volume ------------------------------------------------------------------------------


def test_the_databases_live_on_a_named_volume(compose: dict[str, Any], bot: dict[str, Any]) -> None:
    env = dockerfile_env() | {k: v for k, v in environment(bot).items() if v is not None}
    data_dir = env["WEGWIJS_DATA_DIR"]
    assert data_dir.startswith("/")
    on_data = [m for m in mounts(bot) if m["target"].rstrip("/") == data_dir.rstrip("/")]
    assert len(on_data) == 1, f"nothing is mounted at WEGWIJS_DATA_DIR={data_dir}"
    assert on_data[0]["type"] == "volume"
    assert on_data[0]["source"] in (compose.get("volumes") or {}), "declare the named volume"
    assert not on_data[0].get("read_only")
    # The databases stay in the data dir unless someone moves them: then only onto the volume.
    for name in ("WEGWIJS_MAP_DB", "WEGWIJS_STATE_DB"):
        if env.get(name):
            assert env[name].startswith(data_dir.rstrip("/") + "/"), f"{name} is off the volume"
    assert ("VOLUME", f'["{data_dir}"]') in dockerfile_instructions()


def test_bind_mounts_never_create_missing_host_paths(compose: dict[str, Any]) -> None:
    # A missing source would become a root-owned empty folder: a bridge workers "file" the bot
    # cannot read, or a models folder `wegwijs nlu train` cannot write. Fail loudly instead.
    for name, service in compose["services"].items():
        for mount in mounts(service):
            if mount["type"] == "bind":
                where = f"{name}: {mount['source']}"
                assert not mount.get("short_syntax"), f"{where}: use the long syntax"
                assert mount.get("bind", {}).get("create_host_path") is False, where
                assert mount.get("read_only") is True, f"{where}: mount read-only"


# -- Settings and secrets ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bot", "bot-postgres", "bot-1", "bot-2"])
def test_every_setting_the_bot_reads_is_passed_or_deliberately_left_out(
    compose: dict[str, Any], name: str
) -> None:
    service = compose["services"][name]
    read = settings_read_by_the_bot()
    provided = set(environment(service)) | set(dockerfile_env())
    missing = {name: sorted(where) for name, where in read.items() if name not in provided}
    missing = {
        name: where
        for name, where in missing.items()
        if name not in NOT_PASSED and name not in PROFILE_SETTINGS
    }
    assert missing == {}, "pass these in docker-compose.yml (or add them to NOT_PASSED)"
    stale = set(NOT_PASSED) - set(read)
    assert stale == set(), "the bot no longer reads these: remove them from NOT_PASSED"
    assert set(NOT_PASSED).isdisjoint(environment(service))
    assert sorted(bot_services(compose)) == sorted(["bot", "bot-postgres", *REPLICAS])


@pytest.mark.parametrize("name", ["bot", "bot-postgres", "bot-1", "bot-2"])
def test_compose_passes_nothing_the_bot_does_not_read(compose: dict[str, Any], name: str) -> None:
    unknown = set(environment(compose["services"][name])) - set(settings_read_by_the_bot())
    assert unknown - set(PROFILE_SETTINGS) == set(), "a typo, or a setting the bot dropped"
    # The SQLite bot passes none of the PostgreSQL ones: unset is what keeps it on SQLite.
    assert set(PROFILE_SETTINGS).isdisjoint(environment(compose["services"]["bot"]))


def test_retention_and_log_format_have_container_defaults(raw_compose: dict[str, Any]) -> None:
    env = environment(raw_compose["services"]["bot"])
    assert env["WEGWIJS_RETENTION_DAYS"] == "${WEGWIJS_RETENTION_DAYS:-30}"
    assert env["WEGWIJS_LOG_FORMAT"] == "${WEGWIJS_LOG_FORMAT:-json}"
    assert dockerfile_env().get("WEGWIJS_LOG_FORMAT", "json") in ("json", "text")


def test_no_secret_has_a_value_in_the_repository(raw_compose: dict[str, Any]) -> None:
    for name, service in raw_compose["services"].items():
        for key, value in environment(service).items():
            interpolated = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-.*)?\}", value or "")
            if interpolated:  # pass-through: the variable is the one the bot reads
                assert interpolated[1] == key, f"{name}: {key} is filled from {interpolated[1]}"
            if SECRET_NAME.search(key):
                assert value in (f"${{{key}}}", f"${{{key}:-}}"), (
                    f"{name}: {key} must come from the environment, without a default"
                )
    assert all(not SECRET_NAME.search(key) for key in dockerfile_env())
    for instruction, args in dockerfile_instructions():
        assert not (instruction == "ARG" and SECRET_NAME.search(args)), "no secrets as build args"
    for path in (COMPOSE_FILE, DOCKERFILE):
        assert not TOKEN_LIKE.search(path.read_text(encoding="utf-8")), f"a token in {path.name}"


def test_the_files_with_secrets_and_names_stay_out_of_git() -> None:
    ignored = (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored
    assert "bridge_workers.yml" in ignored


def test_ports_are_published_on_loopback_only(compose: dict[str, Any], bot: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for host_ip, _, _ in published_ports(service):
            assert host_ip == "127.0.0.1", f"{name} publishes a port beyond this host"
    assert [p[2] for p in published_ports(bot)] == [dockerfile_env()["WEGWIJS_PORT"]]


# -- Profiles: the three runs -----------------------------------------------------------------


@pytest.mark.parametrize("run", list(RUNS))
def test_each_run_follows_the_compose_specification(
    validator: Draft7Validator, raw_compose: dict[str, Any], compose: dict[str, Any], run: str
) -> None:
    profile, _ = RUNS[run]
    for document in (raw_compose, compose):
        assert schema_errors(validator, enabled(document, profile)) == []
    # Compose refuses a project whose service depends on one left out (unless not required).
    services = enabled(compose, profile)["services"]
    for name, service in services.items():
        for dependency, how in dependencies(service).items():
            assert dependency in services or how.get("required") is False, (
                f"{run}: {name} depends on {dependency}, which this run leaves out"
            )
    # Every named volume used is declared.
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for mount in mounts(service):
            if mount["type"] == "volume":
                assert mount["source"] in declared, f"{name}: declare volume {mount['source']}"


@pytest.mark.parametrize("run", list(RUNS))
def test_each_run_starts_one_kind_of_bot_and_one_door(compose: dict[str, Any], run: str) -> None:
    running = started(compose, run)
    assert running == STARTED[run]
    assert sorted(set(bot_services(compose)) & running) == sorted(BOTS[run])
    # One service takes the host's port 8080, where the HTTPS proxy sends everything.
    published = [
        (name, host_ip, port)
        for name in sorted(running)
        for host_ip, port, _ in published_ports(compose["services"][name])
    ]
    assert [(host_ip, port) for _, host_ip, port in published] == [("127.0.0.1", "8080")], published


def test_the_three_runs_are_documented_where_operators_look() -> None:
    header = COMPOSE_FILE.read_text(encoding="utf-8").split("services:", 1)[0]
    guide = OPERATORS_GUIDE.read_text(encoding="utf-8")
    for run in RUNS:
        line = command_line(run)
        assert " ".join(line.split()) in " ".join(header.replace("#", " ").split()), line
        assert line in guide, f"docs/operators.md does not show `{line}`"


# -- PostgreSQL -------------------------------------------------------------------------------


def test_postgresql_keeps_its_data_on_a_named_volume(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == POSTGRES_IMAGE
    assert set(postgres["profiles"]) == {"postgres", "replicas"}
    data = [m for m in mounts(postgres) if m["target"] == "/var/lib/postgresql/data"]
    assert len(data) == 1 and data[0]["type"] == "volume"
    assert data[0]["source"] in compose["volumes"]
    assert not postgres.get("ports"), "PostgreSQL is for the bots on compose's network only"
    assert "5432" in [str(p) for p in postgres.get("expose", [])]


def test_the_database_password_comes_from_the_environment_only(
    raw_compose: dict[str, Any],
) -> None:
    services = raw_compose["services"]
    assert environment(services["postgres"])["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:-}"
    for name in ["bot-postgres", *REPLICAS]:
        url = urlsplit(environment(services[name])["WEGWIJS_DATABASE_URL"] or "")
        assert url.password == "${POSTGRES_PASSWORD:-}", f"{name}: a password in the file"


@pytest.mark.parametrize("name", ["bot-postgres", *REPLICAS])
def test_the_postgresql_bots_reach_the_database_they_wait_for(
    compose: dict[str, Any], name: str
) -> None:
    bot = compose["services"][name]
    postgres = environment(compose["services"]["postgres"])
    url = urlsplit(environment(bot)["WEGWIJS_DATABASE_URL"] or "")
    assert url.scheme == "postgresql" and url.hostname == "postgres" and url.port == 5432
    assert url.username == postgres["POSTGRES_USER"]
    assert url.path == f"/{postgres['POSTGRES_DB']}"
    # The bot upgrades the schema at start: PostgreSQL must be up first, and is required.
    depends = dependencies(bot)["postgres"]
    assert depends["condition"] == "service_healthy" and depends.get("required", True)


@pytest.mark.parametrize("name", ["bot-postgres", *REPLICAS])
def test_the_postgresql_bots_are_the_bot_plus_their_settings(
    compose: dict[str, Any], name: str
) -> None:
    """Everything else as the SQLite bot (one definition, merged in YAML): the same image,
    health check, stop grace period and privileges, every setting with the same value."""
    bot, variant = compose["services"]["bot"], compose["services"][name]
    for key in ("build", "healthcheck", "stop_grace_period", "cap_drop", "security_opt"):
        assert variant[key] == bot[key], f"{name}: {key} differs from the bot's"
    env, base = environment(variant), environment(bot)
    assert set(env) - set(base) <= set(PROFILE_SETTINGS)
    changed = {key for key in base if env.get(key) != base[key]}
    assert changed <= {"NLU_URL"}, f"{name}: {changed} differ from the bot's"


# -- Several replicas -------------------------------------------------------------------------


def test_the_replicas_use_both_rasa_servers(compose: dict[str, Any]) -> None:
    rasa, second = compose["services"]["rasa"], compose["services"]["rasa-2"]
    for key in ("image", "command", "volumes", "healthcheck", "expose", "environment"):
        assert second[key] == rasa[key], f"rasa-2: {key} differs from rasa's"
    port = rasa["command"][rasa["command"].index("--port") + 1]
    for name in REPLICAS:
        urls = nlu_urls(environment(compose["services"][name])["NLU_URL"] or "")
        assert urls == [f"http://rasa:{port}", f"http://rasa-2:{port}"], name
        depends = dependencies(compose["services"][name])
        # Waits for both, starts without them (the menu and the crisis net still work).
        assert all(depends[r]["required"] is False for r in ("rasa", "rasa-2"))


def test_each_replica_has_its_own_name_and_data_and_shares_the_uploads(
    compose: dict[str, Any],
) -> None:
    data_dir = dockerfile_env()["WEGWIJS_DATA_DIR"]
    names, data, uploads = set(), set(), set()
    for name in REPLICAS:
        service = compose["services"][name]
        names.add(environment(service)["WEGWIJS_REPLICA"])
        assert not service.get("ports"), f"{name}: only the proxy is reached from outside"
        by_target = {m["target"].rstrip("/"): m for m in mounts(service)}
        data.add(by_target[data_dir]["source"])
        # The bot keeps desk uploads in <data dir>/desk-files.
        uploads.add(by_target[f"{data_dir}/desk-files"]["source"])
    assert len(names) == len(data) == len(REPLICAS), "replicas need their own names and maps"
    assert len(uploads) == 1, "a file uploaded through one replica is sent by another"
    assert data.isdisjoint(uploads)
    assert any(
        '"desk-files"' in path.read_text(encoding="utf-8")
        for path in (PROJECT_ROOT / "bot").rglob("*.py")
    ), "the desk's uploads moved: mount the shared volume where they are now"
    # Docker gives a new volume the owner of the folder in the image: the bot's user.
    assert "/data/desk-files" in dict(dockerfile_instructions()).get("RUN", "")


def test_the_replicas_believe_forwarded_addresses_from_private_networks_only(
    compose: dict[str, Any],
) -> None:
    import ipaddress

    for name in REPLICAS:
        allowed = environment(compose["services"][name])["FORWARDED_ALLOW_IPS"] or ""
        assert "*" not in allowed
        for item in allowed.split(","):
            network = ipaddress.ip_network(item.strip())
            assert network.is_private or network.is_loopback, item


# -- The proxy (Caddy) ------------------------------------------------------------------------


def test_the_proxy_serves_its_caddyfile_read_only(compose: dict[str, Any]) -> None:
    proxy = compose["services"]["proxy"]
    assert str(proxy["image"]).startswith("caddy:2.")
    config = proxy["command"][proxy["command"].index("--config") + 1]
    (mount,) = [m for m in mounts(proxy) if m["target"] == config]
    assert (PROJECT_ROOT / mount["source"]).resolve() == CADDYFILE
    assert mount["read_only"] is True
    for name in REPLICAS:
        assert name in dependencies(proxy)


def test_the_caddyfile_sends_to_both_replicas_on_their_port(compose: dict[str, Any]) -> None:
    lines = caddy_directives(CADDYFILE.read_text(encoding="utf-8"))
    port = dockerfile_env()["WEGWIJS_PORT"]
    (proxy_line,) = [words for words in lines if words[0] == "reverse_proxy"]
    assert proxy_line[1:-1] == [f"{name}:{port}" for name in REPLICAS] and proxy_line[-1] == "{"
    # It listens where compose publishes it, and checks the replicas' /healthz.
    published = {target for _, _, target in published_ports(compose["services"]["proxy"])}
    assert [f":{target}" for target in published] == [w[0] for w in lines if w[-1] == "{"][1:2]
    assert ["health_uri", "/healthz"] in lines
    # Room for the desk's largest upload (WEGWIJS_DESK_MAX_UPLOAD_MB, 16 by default).
    (max_size,) = [w[1] for w in lines if w[0] == "max_size"]
    default_mb = environment(compose["services"]["bot"])["WEGWIJS_DESK_MAX_UPLOAD_MB"]
    assert int(max_size.removesuffix("MB")) >= int(default_mb or 0) + 1


def test_caddy_accepts_the_caddyfile(tmp_path: Path) -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.fail("caddy is missing: `make test` installs Debian's (apt-get install caddy)")
    result = subprocess.run(
        [caddy, "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        # Caddy keeps its state under $HOME: a throwaway one, nothing on the machine changes.
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Valid configuration" in result.stdout + result.stderr
    formatted = subprocess.run(
        [caddy, "fmt", str(CADDYFILE)], capture_output=True, text=True, check=True
    ).stdout
    assert formatted == CADDYFILE.read_text(encoding="utf-8"), "run `caddy fmt --overwrite`"


def test_the_proxy_keeps_no_access_log() -> None:
    """An access log would hold Telegram's secret header, WhatsApp's verify token (a query
    parameter) and parents' addresses."""
    assert "log" not in [words[0] for words in caddy_directives(CADDYFILE.read_text("utf-8"))]
