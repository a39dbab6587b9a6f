"""The argument parser of the ``temporal-router`` command."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .. import __version__

# The id rules every entry point applies (an internal of the workflows package), so that
# the CLI refuses what the entities and the server would, before sending.
from ..workflows._limits import id_problem
from ._completion import cmd_completion
from ._doctor import cmd_doctor
from ._entities import cmd_create, cmd_dispatch, cmd_get, cmd_hook, cmd_list, cmd_signal
from ._graph import cmd_graph, cmd_traces
from ._server import cmd_dev, cmd_worker

__all__ = ["build_parser"]


def _workflow_id(text: str) -> str:
    """An id argument, checked as the entities and the server check it (exit 2, nothing
    sent, rather than a server error after the round trip)."""
    problem = id_problem(text, "the id")
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < 86_400 or value != value:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a number of seconds above 0 and under a day"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="temporal-router",
        description="Typed, observable state machines on Temporal.",
        epilog="Exit codes: 0 ok, 1 refused, 2 bad input (nothing sent), 3 server unreachable, "
        "refusing or no worker, 4 a bug (rerun with --debug), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"temporal-router {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback behind an error (env TEMPORAL_ROUTER_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")

    def add(
        name: str, help: str, fn: Callable[[argparse.Namespace], Any]
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(run=fn)
        p.add_argument(
            "--app",
            help="MODULE[:ATTR] naming a RouterPlugin, router or list of routers (env TEMPORAL_ROUTER_APP)",
        )
        p.add_argument(
            "--task-queue", help="task queue of the entities (default: the app's TASK_QUEUE)"
        )
        p.add_argument(
            "--namespace", help="Temporal namespace (env TEMPORAL_NAMESPACE; default 'default')"
        )
        p.add_argument("--address", help="Temporal frontend host:port (env TEMPORAL_ADDRESS)")
        add_debug(p)
        return p

    def add_debug(p: argparse.ArgumentParser) -> None:
        # SUPPRESS: a subcommand's default must not overwrite `temporal-router --debug CMD`.
        p.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show the traceback behind an error",
        )

    def add_output(p: argparse.ArgumentParser, default: str) -> None:
        p.add_argument(
            "--output",
            "-o",
            choices=("json", "table"),
            default=default,
            help=f"how to print the result (default {default})",
        )

    def add_timeout(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--timeout",
            type=_seconds,
            default=60.0,
            metavar="SECONDS",
            help="give up waiting for a worker's answer after this long (default 60)",
        )

    def add_caller(p: argparse.ArgumentParser) -> None:
        group = p.add_argument_group(
            "caller", "who sends the request (middleware sees it as ctx.caller)"
        )
        group.add_argument("--identity", help="the caller's identity, e.g. a user id")
        group.add_argument(
            "--role", action="append", metavar="ROLE", help="a role of the caller (repeatable)"
        )
        group.add_argument("--tenant", help="the tenant the call acts for")
        group.add_argument("--correlation-id", help="ties together what one request causes")
        group.add_argument(
            "--token",
            help="a credential for workers that verify callers: a JWT from your identity "
            "provider (env TEMPORAL_ROUTER_TOKEN); or set TEMPORAL_ROUTER_CALLER_KEY=ID:KEY "
            "to sign --identity/--role with a shared secret",
        )

    p = add(
        "dev",
        "Run the embedded Temporal dev server (with Web UI), a worker for the app, and local traces.",
        cmd_dev,
    )
    p.add_argument("--no-ui", action="store_true", help="do not serve the Web UI")
    p.add_argument("--port", type=int, help="frontend port (default: a free one)")
    p.add_argument("--db", help="SQLite file, to keep entities across restarts")
    p.add_argument("--service-name", default=None, help="OTel service name")

    p = add(
        "worker",
        "Run a worker for the app against TEMPORAL_ADDRESS (graceful stop on SIGTERM).",
        cmd_worker,
    )
    p.add_argument("--tracing", action="store_true", help="export traces per the OTEL_* variables")
    p.add_argument("--service-name", default=None, help="OTel service name")
    p.add_argument(
        "--graceful-shutdown-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, how long running activities may take to finish (default 10)",
    )

    p = add("dispatch", "Send a command to an entity and print the result.", cmd_dispatch)
    p.add_argument("id", type=_workflow_id, help="entity (workflow) id")
    p.add_argument("command", help="command type, e.g. Pay")
    p.add_argument("--payload", help="command payload as a JSON object, @FILE, or - for stdin")
    p.add_argument("--definition", help="definition name, when the app hosts several")
    p.add_argument(
        "--command-id", type=_workflow_id, help="makes the command exactly-once across retries"
    )
    p.add_argument(
        "--expected-version", type=int, help="refuse unless the entity is at this version"
    )
    p.add_argument(
        "--create", metavar="STATE", help="create the entity in STATE if it does not exist"
    )
    p.add_argument("--data", help="initial data (JSON object, @FILE or -) for --create")
    add_timeout(p)
    add_caller(p)
    add_output(p, "json")

    p = add("create", "Create an entity in a state, with data; print it.", cmd_create)
    p.add_argument("id", type=_workflow_id, help="entity (workflow) id")
    p.add_argument("--state", dest="create", metavar="STATE", required=True, help="its first state")
    p.add_argument("--data", help="its data: a JSON object, @FILE or - for stdin")
    p.add_argument("--definition", help="definition name, when the app hosts several")
    add_timeout(p)
    add_caller(p)
    add_output(p, "json")

    p = add("get", "Print an entity's current state, data and version.", cmd_get)
    p.add_argument("id", type=_workflow_id, help="entity (workflow) id")
    p.add_argument("--definition", help="definition name, when the app hosts several")
    add_timeout(p)
    add_caller(p)
    add_output(p, "json")

    p = add("list", "List running entities, optionally in one state.", cmd_list)
    p.add_argument("--state", help="only entities in this state")
    p.add_argument("--definition", help="definition name, when the app hosts several")
    add_output(p, "table")

    p = add("hook", "Ask a running workflow to start a hook; prints the hook id.", cmd_hook)
    p.add_argument("id", type=_workflow_id, help="the workflow to hook into")
    p.add_argument("--hook-task-queue", help="task queue of the hooked workflow")
    p.add_argument("--workflow-name", help="workflow type of the hook")
    p.add_argument("--entity", help="shorthand: task queue and workflow type both")
    p.add_argument("--args", help="hook arguments as a JSON array, @FILE or -")
    p.add_argument("--definition", help=argparse.SUPPRESS)  # no longer needed; still accepted
    add_timeout(p)
    add_caller(p)
    add_output(p, "table")

    p = add(
        "signal",
        "Answer a running workflow's wait_for(SIGNAL_ID) with data, as a hook would.",
        cmd_signal,
    )
    p.add_argument("id", type=_workflow_id, help="the waiting workflow")
    p.add_argument("signal_id", type=_workflow_id, help="what it waits for")
    p.add_argument("--data", help="the answer as JSON, @FILE or - (default null)")
    add_caller(p)

    p = add(
        "doctor",
        "Check that the server is ready for the app: namespace, search attributes, a worker.",
        cmd_doctor,
    )
    p.add_argument(
        "--create-search-attributes",
        action="store_true",
        help="create RouterState and RouterDefinition (Keyword) where they are missing",
    )

    p = add(
        "graph", "Print the states x commands of the app's routers as a Mermaid diagram.", cmd_graph
    )
    p.add_argument("--definition", help="only this definition")

    p = sub.add_parser(
        "completion",
        help='Print a shell completion script: eval "$(temporal-router completion bash)"',
        description="Print a completion script for bash or zsh; add to ~/.bashrc or ~/.zshrc: "
        'eval "$(temporal-router completion bash)" (or zsh).',
    )
    p.set_defaults(run=cmd_completion)
    p.add_argument("shell", choices=("bash", "zsh"))

    p = sub.add_parser(
        "traces",
        help="Draw the local trace file as a waterfall.",
        description="Draw the local trace file as a waterfall.",
    )
    p.set_defaults(run=cmd_traces)
    add_debug(p)
    p.add_argument("workflow_id", nargs="?", help="only traces that touch this workflow id")
    p.add_argument(
        "--file",
        help="trace file (default .temporal-router/traces.jsonl, env TEMPORAL_ROUTER_TRACES_PATH)",
    )
    p.add_argument("--width", type=int, default=40, help="width of the duration bars")
    p.add_argument("--limit", type=int, metavar="N", help="only the N most recent traces")
    return parser
