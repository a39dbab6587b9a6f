"""What every ``temporal-router`` command shares: the app, errors and exit codes, output, the
connection to Temporal and the caller context."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import importlib
import itertools
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..router import Caller, ConfigurationError, WorkflowRouter

__all__ = [
    "DEV_STATE_ENV",
    "DEV_STATE_FILE",
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_SERVER",
    "MAX_JSON_ARGUMENT_BYTES",
    "STATE_DIR",
    "App",
    "CliError",
    "_app",
    "_app_credentials",
    "_caller",
    "_cell",
    "_client",
    "_credentials",
    "_emit",
    "_hook_client",
    "_parse_json",
    "_print_json",
    "_progress",
    "_router_client",
    "_say",
    "_waiting",
    "_within",
    "find_dev_state",
    "load_app",
    "server_error",
]

T = TypeVar("T")

EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT, EXIT_SERVER, EXIT_INTERNAL = 0, 1, 2, 3, 4
STATE_DIR = Path(".temporal-router")
DEV_STATE_FILE = STATE_DIR / "dev.json"
#: Names the dev state file explicitly, for commands run far from the ``dev`` directory.
DEV_STATE_ENV = "TEMPORAL_ROUTER_DEV_STATE"
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
    from ..adapter import RouterPlugin

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
    except Exception as exc:  # the app's own code failed while importing
        raise CliError(
            f"app module {module_name!r} failed while importing: {type(exc).__name__}: {exc} "
            "(--debug shows where)"
        ) from exc
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
    elif (
        isinstance(target, (list, tuple))
        and target
        and all(isinstance(r, WorkflowRouter) for r in target)
    ):
        plugin = RouterPlugin(*target)
    else:
        raise CliError(
            f"{spec} is {type(target).__name__}, not a RouterPlugin, WorkflowRouter or list of routers"
        )
    task_queue = str(getattr(module, "TASK_QUEUE", DEFAULT_TASK_QUEUE))
    return App(plugin, tuple(plugin.routers), task_queue, module)


def _app_credentials(app: App) -> Any:
    """The credential source the app module offers its clients (``CREDENTIALS``), if any."""
    return getattr(app.module, "CREDENTIALS", None)


# -- output helpers -----------------------------------------------------------------------------


def _say(text: str) -> None:
    print(text, flush=True)


def _progress(text: str) -> None:
    print(f"» {text}", file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def _waiting(text: str) -> AsyncIterator[None]:
    """A status line on a terminal's stderr while the block waits on the server or a worker
    (after a second, updated every half second, erased at the end); nothing otherwise."""
    if not sys.stderr.isatty():
        yield
        return

    async def show() -> None:
        started = asyncio.get_running_loop().time()
        await asyncio.sleep(1.0)
        frames = "|/-\\"
        for tick in itertools.count():
            waited = asyncio.get_running_loop().time() - started
            print(
                f"\r{frames[tick % 4]} {text} ({waited:.0f}s)", end="", file=sys.stderr, flush=True
            )
            await asyncio.sleep(0.5)

    status = asyncio.create_task(show())
    try:
        yield
    finally:
        status.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await status
        print("\r\x1b[2K", end="", file=sys.stderr, flush=True)


async def _within(seconds: float, awaitable: Awaitable[T]) -> T:
    """``await awaitable`` with a deadline: TimeoutError when it passes. temporalio turns
    the cancellation into its own error, so the two ways a wait is cut short are told apart
    here: the deadline (TimeoutError) and Ctrl-C (CancelledError, which asyncio.run turns
    into KeyboardInterrupt: exit 130, no traceback)."""
    from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

    task = asyncio.current_task()
    try:
        async with asyncio.timeout(seconds):
            return await awaitable
    except Exception as exc:
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from None
        if isinstance(exc, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise TimeoutError from None
        raise


def _print_json(value: Any) -> None:
    _say(json.dumps(value, indent=2, default=str))


def _emit(args: argparse.Namespace, value: Any, default: str = "json") -> None:
    """Print ``value`` as ``--output`` asks: ``json``, or ``table`` (rows of a list as
    tab-separated columns under a header; an object as ``key: value`` lines)."""
    if (getattr(args, "output", None) or default) == "json":
        _print_json(value)
        return
    if isinstance(value, list):
        columns = list(dict.fromkeys(key for row in value for key in row))
        if columns:
            _say("\t".join(c.upper() for c in columns))
        for row in value:
            _say("\t".join(_cell(row.get(c)) for c in columns))
        return
    width = max((len(k) for k in value), default=0)
    for key, item in value.items():
        _say(f"{key + ':':<{width + 1}} {_cell(item)}")


def _cell(item: Any) -> str:
    """One table cell: never a tab or a line break, which would shift the columns."""
    if item is None:
        return "-"
    if not isinstance(item, str):
        return json.dumps(item, default=str)  # escapes control characters itself
    return item.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


#: Past this, a JSON argument is refused before it is read whole (entities refuse commands
#: over 256 KiB anyway; this only keeps a wrong file from filling memory).
MAX_JSON_ARGUMENT_BYTES = 4 * 1024 * 1024


_STDIN_READ: contextvars.ContextVar[bool] = contextvars.ContextVar("stdin_read", default=False)


def _parse_json(text: str, what: str) -> Any:
    """``text`` as JSON; ``@PATH`` reads the file at PATH, ``-`` reads standard input."""
    if text == "-":
        source = f"{what} (standard input)"
        if _STDIN_READ.get():
            raise CliError(f"{source}: standard input can feed one argument only; use @FILE")
        _STDIN_READ.set(True)
        raw_input = sys.stdin.buffer.read(MAX_JSON_ARGUMENT_BYTES + 1)
        if not raw_input.strip():
            raise CliError(f"{source} is empty")
        try:
            text = raw_input.decode("utf-8")
        except UnicodeDecodeError:
            raise CliError(f"{source} is not UTF-8 text") from None
    elif text.startswith("@"):
        path = Path(text[1:]).expanduser()
        try:
            with path.open("rb") as file:
                raw = file.read(MAX_JSON_ARGUMENT_BYTES + 1)
        except OSError as exc:
            raise CliError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CliError(f"{what}: {path} is not UTF-8 text") from None
        source = f"{what} ({path})"
    else:
        source = what
    if len(text) > MAX_JSON_ARGUMENT_BYTES:
        raise CliError(f"{source} is over {MAX_JSON_ARGUMENT_BYTES // 1024 // 1024} MiB")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{source} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise CliError(f"{source} is nested too deeply") from None


# -- connection -----------------------------------------------------------------------------------


def find_dev_state() -> Path | None:
    """The state file of a running ``temporal-router dev``: the one ``TEMPORAL_ROUTER_DEV_STATE``
    names, else ``.temporal-router/dev.json`` here or in the nearest parent directory (as git
    finds ``.git``)."""
    named = os.environ.get(DEV_STATE_ENV)
    if named:
        return Path(named)
    here = Path.cwd()
    for directory in (here, *here.parents):
        candidate = directory / DEV_STATE_FILE
        if candidate.is_file():
            return candidate
    return None


def _dev_address() -> str | None:
    path = find_dev_state()
    if path is None:
        return None
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(state, dict):
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

    from ..adapter import connect_client

    address = args.address or None
    configured = address is not None or bool(os.environ.get("TEMPORAL_ADDRESS"))
    if not configured:
        address = _dev_address()
        if address is None:
            named = os.environ.get(DEV_STATE_ENV)
            raise CliError(
                "no Temporal server: set TEMPORAL_ADDRESS, pass --address, or start "
                f"`temporal-router dev` in another terminal (found through {DEV_STATE_FILE} "
                f"here or in a parent directory, or {DEV_STATE_ENV})"
                + (
                    f"; {DEV_STATE_ENV} names {named}, which records no running server"
                    if named
                    else ""
                ),
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
            raise server_error(exc, args, where) from None
        except (ConnectionError, RuntimeError) as exc:
            raise CliError(
                f"cannot reach Temporal at {where}: {exc} (is the server running?)", EXIT_SERVER
            ) from None
        except (OSError, ValueError) as exc:  # TEMPORAL_TLS_* files, config file
            raise CliError(f"cannot configure the connection to {where}: {exc}") from None
        try:
            yield client
        except RPCError as exc:
            raise server_error(exc, args, where) from None


def server_error(exc: Any, args: argparse.Namespace, where: str | None) -> CliError:
    """A server's refusal (a ``temporalio.service.RPCError``) as one line naming the fix."""
    from temporalio.service import RPCStatusCode

    message = str(exc.message)
    namespace = args.namespace or os.environ.get("TEMPORAL_NAMESPACE") or "default"
    if "no mapping defined for search attribute" in message:
        return CliError(
            f"namespace {namespace!r} lacks the search attributes RouterState and "
            "RouterDefinition: create them once with `temporal operator search-attribute "
            f"create --namespace {namespace} --name RouterState --type Keyword --name "
            "RouterDefinition --type Keyword` "
            "(docs/deployment.md)",
            EXIT_SERVER,
        )
    if exc.status == RPCStatusCode.NOT_FOUND and message.lower().startswith("namespace"):
        return CliError(
            f"no namespace {namespace!r} on {where}: pass --namespace (or TEMPORAL_NAMESPACE), "
            f"or create it with `temporal operator namespace create --namespace {namespace}`",
            EXIT_SERVER,
        )
    if exc.status in (RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED):
        return CliError(
            f"the server at {where} refused the call ({message}): check TEMPORAL_API_KEY or "
            "the TEMPORAL_TLS_* settings",
            EXIT_SERVER,
        )
    if exc.status == RPCStatusCode.DEADLINE_EXCEEDED or (
        exc.status == RPCStatusCode.CANCELLED and "timeout" in message.lower()
    ):
        return CliError(
            f"no answer in time ({message}): is a worker running on the entities' task queue? "
            "(`temporal-router worker --app ...`, or `temporal-router dev`)",
            EXIT_SERVER,
        )
    return CliError(f"Temporal server error: {message}", EXIT_SERVER)


def _app(args: argparse.Namespace, required: bool = True) -> App | None:
    spec = args.app or os.environ.get("TEMPORAL_ROUTER_APP")
    if not spec:
        if required:
            raise CliError("which app? pass --app MODULE[:ATTR] or set TEMPORAL_ROUTER_APP")
        return None
    return load_app(spec)


def _router_client(args: argparse.Namespace, client: Any, app: App, definition: str | None) -> Any:
    from ..adapter import RouterClient

    return RouterClient(
        client,
        app.router(definition),
        task_queue=args.task_queue or app.task_queue,
        context=_caller(args),
        credentials=_credentials(args) or _app_credentials(app),
    )


def _hook_client(args: argparse.Namespace, client: Any, app: App) -> Any:
    """A HookClient with the caller and credentials the flags (or the app) give: any
    workflow the app's workers run, entity or not, no router needed."""
    from ..adapter import HookClient

    return HookClient(
        client, context=_caller(args), credentials=_credentials(args) or _app_credentials(app)
    )


def _credentials(args: argparse.Namespace) -> Any:
    """The credential source --token or the environment names, if any; else the app's
    ``CREDENTIALS`` (SECURITY.md)."""
    from ..adapter import SharedSecretSigner, StaticToken

    token = getattr(args, "token", None) or os.environ.get("TEMPORAL_ROUTER_TOKEN")
    if token:
        return StaticToken(token)
    key = os.environ.get("TEMPORAL_ROUTER_CALLER_KEY")
    if key:
        key_id, sep, secret = key.partition(":")
        if not sep or not key_id or not secret:
            raise CliError("TEMPORAL_ROUTER_CALLER_KEY is ID:BASE64KEY, e.g. svc:q1w2...")
        try:
            return SharedSecretSigner(key_id, secret)
        except ConfigurationError as exc:
            raise CliError(f"TEMPORAL_ROUTER_CALLER_KEY: {exc}") from None
    return None


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
