"""The ``temporal-router`` command: help, graph, input checks, exit codes, and end to end.

Input checks and the no-server cases run ``main()`` in this process (in a thread, so that
its ``asyncio.run`` never touches the session's event loop). The end-to-end tests run the
real command in subprocesses: a worker for ``examples.orders`` (``temporal-router worker``)
against the session's dev server, then ``dispatch``/``get``/``list``/``hook``/``traces``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from temporal_router.cli import main
from temporal_router.testing import DevServer

REPO = Path(__file__).resolve().parents[1]
APP = ["--app", "examples.orders"]
SUBCOMMANDS = [
    "dev", "worker", "create", "dispatch", "get", "list", "hook", "signal", "doctor", "graph",
    "completion", "traces",
]  # fmt: skip
ORDER_DATA = {
    "customer": "ada",
    "items": [{"sku": "kettle", "quantity": 1, "unit_price": 2500}],
    "total": 2500,
}
CUSTOMER = ["--identity", "ada", "--role", "customer"]


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def _main_captured(argv: Sequence[str]) -> Run:
    out, err = io.StringIO(), io.StringIO()
    path = list(sys.path)  # load_app may add the working directory
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.path[:] = path
    return Run(code, out.getvalue(), err.getvalue())


def cli(*argv: str) -> Run:
    """``main(argv)`` in a thread of this process, with stdout and stderr captured."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_main_captured, argv).result(timeout=60)


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TEMPORAL_* configuration and no ``.temporal-router/dev.json`` to find."""
    for name in list(os.environ):
        if name.startswith(("TEMPORAL_", "OTEL_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def listener() -> Iterator[tuple[str, socket.socket]]:
    """A TCP listener nothing should ever connect to: ``(address, socket)``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield f"127.0.0.1:{sock.getsockname()[1]}", sock


def _assert_untouched(sock: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        sock.accept()


# -- help ----------------------------------------------------------------------------------------


def test_top_level_help_lists_every_subcommand() -> None:
    run = cli("--help")
    assert run.code == 0
    for name in SUBCOMMANDS:
        assert name in run.out
    assert "Exit codes" in run.out


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_every_subcommand_has_help(subcommand: str) -> None:
    run = cli(subcommand, "--help")
    assert run.code == 0, run.err
    assert run.out.startswith(f"usage: temporal-router {subcommand}")


def test_console_script_finds_the_app_in_the_working_directory() -> None:
    """The installed script has only its own directory on sys.path; apps come from the cwd."""
    script = Path(sys.executable).with_name("temporal-router")
    if not script.exists():
        pytest.skip("the temporal-router console script is not installed next to python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(script), "graph", *APP], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("stateDiagram-v2")


# -- graph ---------------------------------------------------------------------------------------


def test_graph_prints_the_state_machine_as_mermaid() -> None:
    run = cli("graph", *APP)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert [line.strip() for line in lines[1:]] == [
        "Placed --> Paid : Pay",
        "Placed --> Cancelled : Cancel",
        "Paid --> Shipped : Ship",
        "Paid --> Cancelled : Cancel",
        "Shipped",
        "Cancelled",
    ]


def test_graph_of_an_app_that_cannot_be_imported_is_bad_input() -> None:
    run = cli("graph", "--app", "no_such_module_anywhere")
    assert run.code == 2
    assert "cannot import app module 'no_such_module_anywhere'" in run.err


def test_graph_without_an_app_says_how_to_name_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEMPORAL_ROUTER_APP", raising=False)
    run = cli("graph")
    assert run.code == 2
    assert "--app" in run.err
    assert "TEMPORAL_ROUTER_APP" in run.err


# -- bad input: exit 2, one line, nothing sent ----------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["o-1", "Pay", "--payload", "{bad"], "--payload is not valid JSON"),
        (["o-1", "Pay", "--payload", "[1, 2]"], "--payload must be a JSON object"),
        (["o-1", "Refund"], "unknown command 'Refund' for Order (known: Pay, Ship, Cancel)"),
        (["o-1", "Pay", "--payload", "{}"], "invalid payload for Pay: card_token: Field required"),
        (
            ["o-1", "Pay", "--payload", '{"card_token": 5}'],
            "invalid payload for Pay: card_token: Input should be a valid string",
        ),
        (
            ["o-1", "Pay", "--payload", '{"card_token": "t"}', "--create", "Lost"],
            "unknown state 'Lost' for Order",
        ),
        (
            ["o-1", "Pay", "--payload", '{"card_token": "t"}', "--create", "Placed"],
            "invalid --data for Placed: customer: Field required",
        ),
        (
            ["o-1", "Pay", "--payload", '{"card_token": "t"}', "--data", "{}"],
            "--data goes with --create STATE",
        ),
    ],
)
def test_dispatch_bad_input_exits_2_and_sends_nothing(
    argv: list[str], message: str, listener: tuple[str, socket.socket]
) -> None:
    address, sock = listener
    run = cli("dispatch", *argv, *APP, "--address", address)
    assert run.code == 2
    assert run.out == ""
    assert run.err.count("\n") == 1, run.err
    assert run.err.startswith("temporal-router: error: ")
    assert message in run.err
    _assert_untouched(sock)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["hook", "o-1"], "pass --hook-task-queue Q --workflow-name W, or --entity NAME"),
        (["hook", "o-1", "--workflow-name", "W"], "pass --hook-task-queue Q --workflow-name W"),
        (["hook", "o-1", "--entity", "E", "--args", '{"a": 1}'], "--args must be a JSON array"),
        (["list", "--state", "Lost"], "unknown state 'Lost' for Order"),
    ],
)
def test_other_bad_input_exits_2_and_sends_nothing(
    argv: list[str], message: str, listener: tuple[str, socket.socket]
) -> None:
    address, sock = listener
    run = cli(*argv, *APP, "--address", address)
    assert run.code == 2
    assert message in run.err
    assert run.err.count("\n") == 1, run.err
    _assert_untouched(sock)


def test_argparse_usage_errors_exit_2() -> None:
    assert cli("dispatch", *APP).code == 2  # ID and COMMAND missing
    assert cli("frobnicate").code == 2


# -- no server: exit 3 with what to do --------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["dispatch", "o-1", "Cancel", "--payload", '{"reason": "x"}'],
        ["get", "o-1"],
        ["list"],
        ["hook", "o-1", "--entity", "Notify"],
    ],
    ids=["dispatch", "get", "list", "hook"],
)
@pytest.mark.usefixtures("no_server")
def test_client_commands_without_a_server_exit_3_and_say_what_to_do(argv: list[str]) -> None:
    run = cli(*argv, *APP)
    assert run.code == 3
    assert run.out == ""
    assert "no Temporal server" in run.err
    assert "TEMPORAL_ADDRESS" in run.err
    assert "temporal-router dev" in run.err


@pytest.mark.usefixtures("no_server")
def test_worker_without_a_server_exits_3() -> None:
    run = cli("worker", *APP)
    assert run.code == 3
    assert "TEMPORAL_ADDRESS" in run.err


@pytest.mark.usefixtures("no_server")
def test_a_dev_server_that_is_gone_is_not_used(tmp_path: Path) -> None:
    """A ``dev.json`` left by a dev command that died does not count as a server."""
    (tmp_path / ".temporal-router").mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    (tmp_path / ".temporal-router" / "dev.json").write_text(
        json.dumps({"address": "127.0.0.1:1", "pid": int(dead.stdout), "ui": None})
    )
    run = cli("get", "o-1", *APP)
    assert run.code == 3
    assert "no Temporal server" in run.err


@pytest.mark.usefixtures("no_server")
def test_an_unreachable_server_exits_3() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    run = cli("get", "o-1", *APP, "--address", address)
    assert run.code == 3
    assert f"cannot reach Temporal at {address}" in run.err


# -- traces on a file ------------------------------------------------------------------------------


def _span(
    name: str,
    span_id: str,
    parent: str | None,
    start_ms: int,
    end_ms: int,
    trace_id: str = "ab" * 16,
    **attributes: Any,
) -> dict[str, Any]:
    base = 1_790_000_000_000_000_000
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "kind": "INTERNAL",
        "start_time_unix_nano": base + start_ms * 1_000_000,
        "end_time_unix_nano": base + end_ms * 1_000_000,
        "status": {"code": "UNSET", "description": None},
        "attributes": attributes,
        "events": [],
        "resource": {"service.name": "orders"},
        "scope": {"name": "temporal_router"},
    }


@pytest.fixture
def trace_file(tmp_path: Path) -> Path:
    path = tmp_path / "traces.jsonl"
    spans = [
        _span("HandleUpdate:dispatch", "1" * 16, None, 0, 10, temporalWorkflowID="o-7"),
        _span(
            "dispatch Pay",
            "2" * 16,
            "1" * 16,
            1,
            9,
            **{
                "temporal_router.workflow.id": "o-7",
                "temporal_router.result": "ok",
                "temporal_router.transition.from": "Placed",
                "temporal_router.transition.to": "Paid",
            },
        ),
        _span("pipeline Pay", "3" * 16, "2" * 16, 2, 8),
        _span(
            "dispatch Ship",
            "4" * 16,
            None,
            20,
            21,
            trace_id="cd" * 16,
            **{
                "temporal_router.workflow.id": "o-8",
                "temporal_router.result": "error",
                "temporal_router.error.category": "domain",
                "temporal_router.error.code": "Forbidden",
            },
        ),
    ]
    path.write_text("".join(json.dumps(s) + "\n" for s in spans) + '{"truncated": \n')
    return path


def test_traces_draws_the_waterfall_of_one_workflow(trace_file: Path) -> None:
    run = cli("traces", "o-7", "--file", str(trace_file), "--width", "10")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].startswith(f"trace {'ab' * 16} · 3 spans · 10.00 ms")
    assert [line.split()[0] for line in lines[1:]] == [
        "HandleUpdate:dispatch",
        "dispatch",
        "pipeline",
    ]
    assert lines[2].startswith("  dispatch Pay")
    assert lines[2].endswith("Placed → Paid")
    assert lines[3].startswith("    pipeline Pay")
    assert "o-8" not in run.out
    assert "Ship" not in run.out


def test_traces_without_a_workflow_id_draws_every_trace(trace_file: Path) -> None:
    run = cli("traces", "--file", str(trace_file))
    assert run.code == 0, run.err
    assert run.out.count("\ntrace ") + run.out.startswith("trace ") == 2
    assert "refused: domain/Forbidden" in run.out
    limited = cli("traces", "--file", str(trace_file), "--limit", "1")
    assert "dispatch Ship" in limited.out
    assert "dispatch Pay" not in limited.out


def test_traces_reads_the_file_named_by_the_environment(
    trace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ROUTER_TRACES_PATH", str(trace_file))
    run = cli("traces", "o-8")
    assert run.code == 0, run.err
    assert "dispatch Ship" in run.out


def test_traces_for_an_unknown_workflow_or_file_exit_1(trace_file: Path, tmp_path: Path) -> None:
    run = cli("traces", "o-404", "--file", str(trace_file))
    assert run.code == 1
    assert "no traces for 'o-404'" in run.err
    run = cli("traces", "--file", str(tmp_path / "missing.jsonl"))
    assert run.code == 1
    assert "no trace file at" in run.err


# -- end to end on a dev server ------------------------------------------------------------------


@dataclass
class Stack:
    """A worker process for examples.orders and how to run client commands against it."""

    address: str
    env: dict[str, str]
    cwd: Path
    traces: Path
    worker: subprocess.Popen[str]
    worker_log: Path

    def run(self, *argv: str, timeout: float = 60, stdin: str | None = None) -> Run:
        done = subprocess.run(
            [sys.executable, "-m", "temporal_router.cli", *argv],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
        )
        return Run(done.returncode, done.stdout, done.stderr)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _wait_for_line(path: Path, text: str, proc: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared; log:\n{path.read_text()}")


@pytest.fixture(scope="module")
def stack(
    temporal_dev_server: DevServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    cwd = tmp_path_factory.mktemp("cli")
    traces = cwd / "traces.jsonl"
    env = _clean_env(TEMPORAL_ADDRESS=temporal_dev_server.target)
    worker_env = {
        **env,
        "TEMPORAL_ROUTER_TRACES_PATH": str(traces),
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    log = cwd / "worker.log"
    with log.open("w") as sink:
        worker = subprocess.Popen(
            [sys.executable, "-m", "temporal_router.cli", "worker", *APP, "--tracing"],
            cwd=cwd,
            env=worker_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        _wait_for_line(log, "worker running on task queue 'orders'", worker, timeout=30)
        yield Stack(temporal_dev_server.target, env, cwd, traces, worker, log)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


@pytest.fixture(scope="module")
def order_id() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


def test_e2e_dispatch_creates_and_pays(stack: Stack, order_id: str) -> None:
    run = stack.run(
        "dispatch", order_id, "Pay", "--payload", '{"card_token": "tok_visa"}',
        "--create", "Placed", "--data", json.dumps(ORDER_DATA), *CUSTOMER, *APP,
    )  # fmt: skip
    assert run.code == 0, run.err
    result = run.json()
    assert result["ok"] is True
    assert (result["id"], result["state"]) == (order_id, "Paid")
    assert result["data"]["receipt"] == f"rcpt-{order_id}-2500"
    assert result["events"] == [
        {"type": "OrderPaid", "data": {"receipt": f"rcpt-{order_id}-2500", "amount": 2500}}
    ]


def test_e2e_domain_refusal_exits_1_with_the_error(stack: Stack, order_id: str) -> None:
    run = stack.run(
        "dispatch", order_id, "Ship", "--payload", '{"carrier": "ups"}', *CUSTOMER, *APP
    )
    assert run.code == 1, run.err
    result = run.json()
    assert result["ok"] is False
    error = result["error"]
    assert (error["category"], error["code"]) == ("domain", "Forbidden")
    assert error["message"] == "Domain error: Forbidden"
    assert error["data"]["command"] == "Ship"
    assert error["data"]["required_role"] == "warehouse"
    # Without any caller at all, the middleware refuses as well.
    anonymous = stack.run("dispatch", order_id, "Ship", "--payload", '{"carrier": "ups"}', *APP)
    assert anonymous.code == 1
    assert anonymous.json()["error"]["code"] == "Forbidden"


def test_e2e_router_refusals_exit_1(stack: Stack, order_id: str) -> None:
    no_handler = stack.run("dispatch", order_id, "Pay", "--payload", '{"card_token": "t"}',
                           *CUSTOMER, *APP)  # fmt: skip
    assert no_handler.code == 1
    assert no_handler.json()["error"]["code"] == "NO_HANDLER"
    missing = stack.run("dispatch", f"{order_id}-nope", "Cancel", "--payload",
                        '{"reason": "x"}', *CUSTOMER, *APP)  # fmt: skip
    assert missing.code == 1
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    stale = stack.run("dispatch", order_id, "Ship", "--payload", '{"carrier": "ups"}',
                      "--expected-version", "1", "--identity", "wes", "--role", "warehouse",
                      *APP)  # fmt: skip
    assert stale.code == 1
    assert stale.json()["error"]["code"] == "VERSION_CONFLICT"


def test_e2e_get_prints_the_snapshot(stack: Stack, order_id: str) -> None:
    run = stack.run("get", order_id, *APP)
    assert run.code == 0, run.err
    snapshot = run.json()
    assert (snapshot["id"], snapshot["state"], snapshot["version"]) == (order_id, "Paid", 2)
    assert snapshot["data"]["total"] == 2500
    assert snapshot["created_at"] <= snapshot["updated_at"]  # one workflow task: equal
    missing = stack.run("get", f"{order_id}-nope", *APP)
    assert missing.code == 1
    assert "no entity" in missing.err


def test_e2e_list_finds_the_order_by_state(stack: Stack, order_id: str) -> None:
    deadline = time.monotonic() + 20
    while True:  # visibility lags writes a little
        run = stack.run("list", "--state", "Paid", *APP)
        assert run.code == 0, run.err
        if f"{order_id}\tPaid" in run.out.splitlines() or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert f"{order_id}\tPaid" in run.out.splitlines()
    shipped = stack.run("list", "--state", "Shipped", *APP)
    assert order_id not in shipped.out


async def test_e2e_hook_starts_a_workflow_beside_the_order(
    stack: Stack, order_id: str, temporal_client: Client
) -> None:
    run = await asyncio.to_thread(
        stack.run,
        "hook", order_id, "--hook-task-queue", "orders", "--workflow-name", "SendNotification",
        "--args", '["ada", "your order is on its way"]', *CUSTOMER, *APP,
    )  # fmt: skip
    assert run.code == 0, run.err
    hook_id = run.out.strip()
    assert hook_id.startswith(f"{order_id}-hook-")
    handle = temporal_client.get_workflow_handle(hook_id)
    for _ in range(100):  # the order starts the hook when it handles the request
        with contextlib.suppress(RPCError):
            await asyncio.wait_for(handle.result(), timeout=30)
            break
        await asyncio.sleep(0.1)
    description = await handle.describe()
    assert description.workflow_type == "SendNotification"
    assert description.parent_id == order_id

    gone = await asyncio.to_thread(
        stack.run, "hook", f"{order_id}-nope", "--entity", "SendNotification", *APP
    )
    assert gone.code == 1
    assert "closed or does not exist" in gone.err


def test_e2e_create_reads_data_from_a_file_or_stdin(stack: Stack) -> None:
    order_file = stack.cwd / "order.json"
    order_file.write_text(json.dumps(ORDER_DATA))
    from_file = f"cli-file-{uuid.uuid4().hex[:6]}"
    run = stack.run("create", from_file, "--state", "Placed", "--data", f"@{order_file}",
                    *CUSTOMER, *APP)  # fmt: skip
    assert run.code == 0, run.err
    assert (run.json()["id"], run.json()["state"]) == (from_file, "Placed")
    assert run.json()["data"]["total"] == ORDER_DATA["total"]
    again = stack.run("create", from_file, "--state", "Placed", "--data", f"@{order_file}",
                      *CUSTOMER, *APP)  # fmt: skip
    assert again.code == 1
    assert "already exists" in again.err
    from_stdin = f"cli-stdin-{uuid.uuid4().hex[:6]}"
    run = stack.run("create", from_stdin, "--state", "Placed", "--data", "-", *CUSTOMER, *APP,
                    stdin=json.dumps(ORDER_DATA))  # fmt: skip
    assert run.code == 0, run.err
    paid = stack.run("dispatch", from_stdin, "Pay", "--payload", "-", *CUSTOMER, *APP,
                     stdin='{"card_token": "tok_visa"}')  # fmt: skip
    assert paid.code == 0, paid.err
    assert paid.json()["state"] == "Paid"


@pytest.mark.parametrize(
    ("argument", "complaint"),
    [
        ("@missing.json", "cannot read missing.json"),
        ("@not-utf8.bin", "is not UTF-8 text"),
        ("@bad.json", "(bad.json) is not valid JSON"),
    ],
)
@pytest.mark.usefixtures("no_server")
def test_json_arguments_from_files_that_cannot_be_used_exit_2(
    tmp_path: Path, argument: str, complaint: str
) -> None:
    (tmp_path / "not-utf8.bin").write_bytes(b"\xff\xfe{}")
    (tmp_path / "bad.json").write_text("{")
    run = cli("create", "o-1", "--state", "Placed", "--data", argument, *APP)
    assert run.code == 2
    assert complaint in run.err
    assert "Traceback" not in run.err


def test_e2e_output_as_json_or_table(stack: Stack, order_id: str) -> None:
    table = stack.run("get", order_id, "--output", "table", *CUSTOMER, *APP)
    assert table.code == 0, table.err
    rows = dict(line.split(":", 1) for line in table.out.splitlines())
    assert rows["id"].strip() == order_id
    assert json.loads(rows["data"])["total"] == ORDER_DATA["total"]
    listed = stack.run("list", "-o", "json", *APP)
    assert listed.code == 0, listed.err
    assert all(set(row) == {"id", "state"} for row in listed.json())
    assert order_id in [row["id"] for row in listed.json()]
    refused = stack.run("dispatch", order_id, "Cancel", "--payload", '{"reason": "x"}',
                        "-o", "table", *APP)  # fmt: skip
    assert refused.code == 1
    fields = dict(line.split(":", 1) for line in refused.out.splitlines())
    assert fields["ok"].strip() == "false"
    assert json.loads(fields["error"])["code"] == "Forbidden"


def test_e2e_command_id_makes_a_retry_exactly_once(stack: Stack, order_id: str) -> None:
    command_id = f"{order_id}-ship-1"
    argv = ["dispatch", order_id, "Ship", "--payload", '{"carrier": "ups"}',
            "--command-id", command_id, "--identity", "wes", "--role", "warehouse", *APP]  # fmt: skip
    first, again = stack.run(*argv), stack.run(*argv)
    assert first.code == again.code == 0, first.err + again.err
    assert first.json()["state"] == "Shipped"
    assert again.json() == first.json()
    assert stack.run("get", order_id, *APP).json()["version"] == 3


def test_e2e_worker_stops_gracefully_and_its_traces_can_be_drawn(
    stack: Stack, order_id: str
) -> None:
    stack.worker.send_signal(signal.SIGTERM)
    assert stack.worker.wait(timeout=30) == 0, stack.worker_log.read_text()
    log = stack.worker_log.read_text()
    assert "stopping: finishing in-flight tasks" in log
    assert "Traceback" not in log
    assert "Failed to detach" not in log

    run = stack.run("traces", order_id, "--file", str(stack.traces))
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    pay = next(line for line in lines if line.lstrip().startswith("dispatch Pay"))
    assert pay.endswith("Placed → Paid")
    # The CLI's client does not trace: the dispatch span, the worker's span of the Update
    # (no HandleUpdate span above it), is its trace's root.
    assert pay.startswith("dispatch Pay")
    ship = [line for line in lines if line.lstrip().startswith("dispatch Ship")]
    assert any(line.endswith("refused: domain/Forbidden") for line in ship)
    assert any(line.endswith("Paid → Shipped") for line in ship)


# -- temporal-router dev ---------------------------------------------------------------------------


def test_dev_serves_the_app_and_client_commands_find_it(tmp_path: Path) -> None:
    """``dev`` starts a server and a worker, records where in ``.temporal-router/dev.json``
    (client commands use it when nothing is configured), traces to the local file, and
    stops cleanly on SIGTERM."""
    env = _clean_env()
    log = tmp_path / "dev.log"
    with log.open("w") as sink:
        dev = subprocess.Popen(
            [sys.executable, "-m", "temporal_router.cli", "dev", *APP, "--no-ui"],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        _wait_for_line(log, "worker running on task queue 'orders'", dev, timeout=60)
        state = json.loads((tmp_path / ".temporal-router" / "dev.json").read_text())
        assert state["pid"] == dev.pid

        def run(*argv: str) -> Run:
            done = subprocess.run(
                [sys.executable, "-m", "temporal_router.cli", *argv],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            return Run(done.returncode, done.stdout, done.stderr)

        created = run(
            "dispatch", "dev-1", "Cancel", "--payload", '{"reason": "changed my mind"}',
            "--create", "Placed", "--data", json.dumps(ORDER_DATA), *CUSTOMER, *APP,
        )  # fmt: skip
        assert created.code == 0, created.err
        assert created.json()["state"] == "Cancelled"
        deadline = time.monotonic() + 15
        while (traces := run("traces", "dev-1")).code != 0 and time.monotonic() < deadline:
            time.sleep(0.3)  # spans reach the file in batches
        assert traces.code == 0, traces.err
        assert any(line.endswith("Placed → Cancelled") for line in traces.out.splitlines())
    finally:
        dev.send_signal(signal.SIGTERM)
        code = dev.wait(timeout=30)
    assert code == 0, log.read_text()
    assert not (tmp_path / ".temporal-router" / "dev.json").exists()


def test_table_cells_never_hold_a_tab_or_a_line_break() -> None:
    from temporal_router.cli._app import _cell

    assert _cell("t\tab\nc\rd") == "t\\tab\\nc\\rd"
    assert _cell({"a": "x\ty"}) == '{"a": "x\\ty"}'
    assert _cell(None) == "-"
