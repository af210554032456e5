"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

The compose file is validated against the Compose specification's JSON schema (vendored in
tests/data/compose-spec.json, see its README), after the same ``${VAR:-default}`` interpolation
compose does. Then the things that matter for Wegwijs: the Rasa image and model, health checks,
the data volume, every setting the bot reads, no secret in the file, loopback-only ports, and a
Dockerfile that only copies files a fresh clone has.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from ruamel.yaml import YAML

from bot.paths import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
SCHEMA_FILE = Path(__file__).parent / "data" / "compose-spec.json"

RASA_IMAGE = "rasa/rasa:3.6.21-full"

# Settings the bot reads that compose deliberately does not pass, and why.
NOT_PASSED = {
    "WEGWIJS_MAP_DB": "defaults to <WEGWIJS_DATA_DIR>/social_map.db, which is on the volume",
    "WEGWIJS_STATE_DB": "defaults to <WEGWIJS_DATA_DIR>/state.db, which is on the volume",
    "WEGWIJS_RASA": "only to train or to start the bot's own Rasa; compose sets NLU_URL instead",
    "WEGWIJS_REPLICA": "defaults to the container's host name and data directory, unique per replica",
}
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


@pytest.mark.parametrize("name", ["rasa", "bot"])
def test_every_service_has_a_working_healthcheck(compose: dict[str, Any], name: str) -> None:
    check = compose["services"][name].get("healthcheck")
    assert check and not check.get("disable"), f"{name} has no health check"
    test = check["test"]
    assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL")
    for key in ("interval", "timeout", "start_period"):
        assert GO_DURATION.match(str(check[key])), f"{name}: {key} {check[key]!r}"
    assert isinstance(check["retries"], int) and check["retries"] >= 1
    # Both images have Python; curl is not guaranteed. The code must at least compile.
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


def test_every_setting_the_bot_reads_is_passed_or_deliberately_left_out(
    bot: dict[str, Any],
) -> None:
    read = settings_read_by_the_bot()
    provided = set(environment(bot)) | set(dockerfile_env())
    missing = {name: sorted(where) for name, where in read.items() if name not in provided}
    missing = {name: where for name, where in missing.items() if name not in NOT_PASSED}
    assert missing == {}, "pass these in docker-compose.yml (or add them to NOT_PASSED)"
    stale = set(NOT_PASSED) - set(read)
    assert stale == set(), "the bot no longer reads these: remove them from NOT_PASSED"
    assert set(NOT_PASSED).isdisjoint(environment(bot))


def test_compose_passes_nothing_the_bot_does_not_read(bot: dict[str, Any]) -> None:
    unknown = set(environment(bot)) - set(settings_read_by_the_bot())
    assert unknown == set(), "a typo, or a setting the bot dropped"


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
