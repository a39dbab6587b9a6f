"""The CLI never shows a traceback for a user's mistake or a server's state: one line on
stderr naming the problem and the fix, and the documented exit code. Run as a user runs it,
in a subprocess (``python -m temporal_router``), against real dev servers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import temporal_router
from temporal_router.testing import DevServer, find_temporal_cli
from tests.test_cli import APP, ORDER_DATA, Run, _clean_env, cli, no_server  # noqa: F401

PAY = ["Pay", "--payload", '{"card_token": "tok"}']
CREATE = ["--create", "Placed", "--data", json.dumps(ORDER_DATA)]


def run(*argv: str, cwd: Path | None = None, **env: str) -> Run:
    """``python -m temporal_router ARGV`` with a clean TEMPORAL_* environment."""
    done = subprocess.run(
        [sys.executable, "-m", "temporal_router", *argv],
        cwd=cwd,
        env=_clean_env(**env),
        text=True,
        capture_output=True,
        timeout=120,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def assert_one_line(result: Run, code: int, *mentions: str) -> None:
    """Exit ``code``, nothing on stdout, one ``error:`` line naming each of ``mentions``."""
    assert result.code == code, result.err
    assert "Traceback" not in result.err, result.err
    assert "Future exception" not in result.err, result.err
    lines = [line for line in result.err.splitlines() if not line.startswith("» ")]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("temporal-router: error: ")
    for text in mentions:
        assert text in lines[0], lines[0]


@pytest.fixture(scope="module")
async def bare_server() -> AsyncIterator[DevServer]:
    """A plain ``temporal server start-dev``: no RouterState/RouterDefinition attributes."""
    async with DevServer(search_attributes=()) as server:
        yield server


def test_version_and_python_m() -> None:
    result = run("--version")
    assert (result.code, result.out.strip()) == (
        0,
        f"temporal-router {temporal_router.__version__}",
    )
    assert run("--help").out.startswith("usage: temporal-router")


def test_dispatch_with_no_worker_exits_3_naming_the_task_queue(
    temporal_dev_server: DevServer,
) -> None:
    queue = f"nobody-{uuid.uuid4().hex[:6]}"
    result = run(
        "dispatch", f"o-{uuid.uuid4().hex[:6]}", *PAY, *CREATE, *APP,
        "--task-queue", queue, "--timeout", "2",
        TEMPORAL_ADDRESS=temporal_dev_server.target,
    )  # fmt: skip
    assert_one_line(result, 3, "no result within 2s", f"this app's: {queue!r}", "--command-id")


def test_hook_with_no_worker_exits_3(temporal_dev_server: DevServer) -> None:
    workflow_id = f"o-{uuid.uuid4().hex[:6]}"
    queue = f"nobody-{uuid.uuid4().hex[:6]}"
    # An entity that exists but that no worker runs yet.
    run("dispatch", workflow_id, *PAY, *CREATE, *APP, "--task-queue", queue, "--timeout", "1",
        TEMPORAL_ADDRESS=temporal_dev_server.target)  # fmt: skip
    result = run(
        "hook", workflow_id, "--entity", "Notify", *APP, "--task-queue", queue,
        "--timeout", "2", TEMPORAL_ADDRESS=temporal_dev_server.target,
    )  # fmt: skip
    assert_one_line(result, 3, "no answer within 2s", "is a worker polling")


def test_missing_search_attributes_name_the_command_that_creates_them(
    bare_server: DevServer,
) -> None:
    entity = f"o-{uuid.uuid4().hex[:6]}"
    where = bare_server.target
    result = run("dispatch", entity, *PAY, *CREATE, *APP, "--timeout", "5", TEMPORAL_ADDRESS=where)
    assert_one_line(result, 3, "lacks the search attributes", "temporal operator search-attribute")
    # The command in the message is the fix: run it as printed, then the entity is created
    # (and, with no worker here, the wait ends as a timeout rather than a server refusal).
    fix = result.err.split("`")[1]
    assert fix.startswith("temporal operator search-attribute create")
    argv = [find_temporal_cli(), *fix.split()[1:], "--address", bare_server.target]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    again = run("dispatch", entity, *PAY, *CREATE, *APP, "--timeout", "2", TEMPORAL_ADDRESS=where)
    assert_one_line(again, 3, "no result within 2s")


@pytest.mark.parametrize(
    "command",
    [
        ["get", "o-1"],
        ["list"],
        ["dispatch", "o-1", "Cancel", "--payload", '{"reason": "x"}'],
        ["hook", "o-1", "--entity", "SendNotification"],
        ["signal", "o-1", "s-1"],
        ["doctor"],
    ],
    ids=["get", "list", "dispatch", "hook", "signal", "doctor"],
)
def test_an_unknown_namespace_is_named_not_mistaken_for_a_missing_entity(
    temporal_dev_server: DevServer, command: list[str]
) -> None:
    if command[0] == "signal":  # the example app seals internal messages: refused first
        command = [*command, "--app", "tests.adapter._plain_app"]
    else:
        command = [*command, *APP]
    result = run(*command, "--namespace", "nope", TEMPORAL_ADDRESS=temporal_dev_server.target)
    if command[0] == "doctor":
        assert result.code == 3
        assert "FAIL namespace 'nope' does not exist" in result.out
    else:
        assert_one_line(result, 3, "no namespace 'nope'", "temporal operator namespace create")


def test_a_worker_for_an_unknown_namespace_exits_3(temporal_dev_server: DevServer) -> None:
    result = run("worker", *APP, "--namespace", "nope", TEMPORAL_ADDRESS=temporal_dev_server.target)
    assert result.code == 3, result.err
    assert "Traceback" not in result.err
    assert "temporal-router: error: the worker cannot start" in result.err
    assert "nope" in result.err


@pytest.mark.parametrize("bad_id", ["", "x" * 1001], ids=["empty", "too-long"])
@pytest.mark.parametrize(
    "command",
    [["get", "{id}"], ["dispatch", "{id}", "Cancel"], ["hook", "{id}", "--entity", "X"],
     ["signal", "{id}", "s-1"], ["signal", "o-1", "{id}"], ["create", "{id}", "--state", "Placed"],
     ["dispatch", "o-1", "Cancel", "--command-id", "{id}"]],
    ids=["get", "dispatch", "hook", "signal", "signal-id", "create", "command-id"],
)  # fmt: skip
def test_a_bad_id_is_bad_input_and_nothing_is_sent(command: list[str], bad_id: str) -> None:
    argv = [bad_id if word == "{id}" else word for word in command]
    result = cli(*argv, *APP, "--address", "127.0.0.1:1")  # nothing may be sent anywhere
    assert result.code == 2, result.err
    assert "the id " in result.err
    assert "Traceback" not in result.err


def test_get_with_no_worker_exits_3_after_its_timeout(temporal_dev_server: DevServer) -> None:
    queue = f"nobody-{uuid.uuid4().hex[:6]}"
    entity = f"o-{uuid.uuid4().hex[:6]}"
    where = temporal_dev_server.target
    run("dispatch", entity, *PAY, *CREATE, *APP, "--task-queue", queue, "--timeout", "1",
        TEMPORAL_ADDRESS=where)  # fmt: skip
    result = run("get", entity, *APP, "--task-queue", queue, "--timeout", "2",
                 TEMPORAL_ADDRESS=where)  # fmt: skip
    assert_one_line(result, 3, "no answer within 2s", "is a worker polling")


def test_ctrl_c_while_waiting_exits_130_quietly(temporal_dev_server: DevServer) -> None:
    import signal as signals
    import time

    command_id = f"c-{uuid.uuid4().hex[:6]}"
    with subprocess.Popen(
        [sys.executable, "-m", "temporal_router", "dispatch", f"o-{uuid.uuid4().hex[:6]}",
         *PAY, *CREATE, *APP, "--task-queue", f"nobody-{uuid.uuid4().hex[:6]}",
         "--command-id", command_id],
        env=_clean_env(TEMPORAL_ADDRESS=temporal_dev_server.target),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:  # fmt: skip
        time.sleep(4)  # connected and waiting for the reply
        proc.send_signal(signals.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "never retrieved" not in err
    assert f"repeat it with --command-id {command_id}" in err


def test_the_example_apps_sealed_workers_make_signal_refuse_before_sending() -> None:
    result = cli("signal", "o-1", "s-1", *APP, "--address", "127.0.0.1:1")
    assert result.code == 2
    assert "seal internal messages" in result.err


@pytest.mark.usefixtures("no_server")
def test_standard_input_feeds_one_argument_and_must_not_be_empty() -> None:
    twice = run("dispatch", "o-1", "Cancel", "--payload", "-", "--create", "Placed",
                "--data", "-", *APP)  # fmt: skip
    assert_one_line(twice, 2, "--payload and --data both read standard input")
    empty = run("dispatch", "o-1", "Cancel", "--payload", "-", *APP)
    assert_one_line(empty, 2, "--payload (standard input) is empty")


@pytest.mark.usefixtures("no_server")
def test_a_broken_dev_state_file_is_no_server(tmp_path: Path) -> None:
    state = tmp_path / ".temporal-router" / "dev.json"
    state.parent.mkdir()
    state.write_text("[1]")
    assert_one_line(run("get", "o-1", *APP, cwd=tmp_path), 3, "no Temporal server")
    named = run("get", "o-1", *APP, cwd=tmp_path, TEMPORAL_ROUTER_DEV_STATE="/nonexistent.json")
    assert_one_line(named, 3, "TEMPORAL_ROUTER_DEV_STATE names /nonexistent.json")


def test_debug_shows_the_servers_error_behind_the_line(temporal_dev_server: DevServer) -> None:
    where = temporal_dev_server.target
    quiet = run("get", "o-1", *APP, "--namespace", "nope", TEMPORAL_ADDRESS=where,
                TEMPORAL_ROUTER_DEBUG="0")  # fmt: skip
    assert "Traceback" not in quiet.err
    loud = run("get", "o-1", *APP, "--namespace", "nope", "--debug", TEMPORAL_ADDRESS=where)
    assert loud.code == 3
    assert "RPCError" in loud.err
    assert "Namespace nope is not found" in loud.err


def test_dev_on_a_busy_port_exits_3() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        result = run("dev", *APP, "--no-ui", "--port", str(port))
    assert_one_line(result, 3, f"127.0.0.1:{port} is already in use", "choose another port")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon"])
def test_a_bad_timeout_is_a_usage_error(value: str) -> None:
    result = run("dispatch", "o-1", *PAY, *APP, "--timeout", value)
    assert result.code == 2
    assert "argument --timeout" in result.err
    assert "Traceback" not in result.err


def test_an_app_that_fails_while_importing_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "broken_app.py").write_text("raise RuntimeError('no config')\n")
    result = run("graph", "--app", "broken_app", cwd=tmp_path)
    assert_one_line(result, 2, "'broken_app' failed while importing", "RuntimeError: no config")
    debug = run("graph", "--app", "broken_app", "--debug", cwd=tmp_path)
    assert debug.code == 2
    assert "Traceback" in debug.err
    assert "broken_app.py" in debug.err


def test_a_bug_exits_4_without_a_traceback_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(_: object) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("temporal_router.cli._parser.cmd_graph", broken)
    quiet = cli("graph", *APP)
    assert quiet.code == 4
    assert "Traceback" not in quiet.err
    assert "unexpected ZeroDivisionError: division by zero" in quiet.err
    assert "--debug" in quiet.err
    for argv in (["--debug", "graph", *APP], ["graph", *APP, "--debug"]):
        loud = cli(*argv)
        assert loud.code == 4
        assert "Traceback" in loud.err
        assert "ZeroDivisionError" in loud.err


def test_the_dev_server_is_found_from_a_subdirectory_and_by_the_environment(
    temporal_dev_server: DevServer, tmp_path: Path
) -> None:
    state = tmp_path / ".temporal-router" / "dev.json"
    state.parent.mkdir()
    alive = os.getpid()  # any live process stands for the dev command
    state.write_text(json.dumps({"address": temporal_dev_server.target, "pid": alive}))
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    found = run("list", *APP, "--state", "Paid", cwd=deep)
    assert found.code == 0, found.err
    elsewhere = tmp_path.parent / f"elsewhere-{uuid.uuid4().hex[:6]}"
    elsewhere.mkdir()
    assert run("list", *APP, cwd=elsewhere).code == 3
    named = run("list", *APP, cwd=elsewhere, TEMPORAL_ROUTER_DEV_STATE=str(state))
    assert named.code == 0, named.err


def test_a_terminal_sees_a_status_line_while_waiting(temporal_dev_server: DevServer) -> None:
    """On a terminal, waiting on a worker shows a status line (erased at the end); piped
    stderr (every other test) stays one line."""
    import pty

    controller, terminal = pty.openpty()
    queue = f"nobody-{uuid.uuid4().hex[:6]}"
    with subprocess.Popen(
        [sys.executable, "-m", "temporal_router", "dispatch", f"o-{uuid.uuid4().hex[:6]}",
         *PAY, *CREATE, *APP, "--task-queue", queue, "--timeout", "3"],
        env=_clean_env(TEMPORAL_ADDRESS=temporal_dev_server.target),
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    ) as proc:  # fmt: skip
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        assert proc.wait(timeout=60) == 3
    os.close(controller)
    text = seen.decode(errors="replace")
    assert f"waiting for the entity's reply (task queue {queue!r})" in text
    assert "no result within 3s" in text
